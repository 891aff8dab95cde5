import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.connector.source.lib.NumberSequenceSource;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * Test launcher: one real Flink MiniCluster (REST API, optional Prometheus reporter) running
 * pipeline jobs shaped like the product's: "Source: clicks" (event-time watermarks) -> enrich
 * -> rebalance -> slow-score (sleeps per record, so everything upstream is backpressured) ->
 * "Sink: orders-db".
 *
 * Flags: --rest-port N, --prometheus-port N, --sleep-ms N, --jobs N, --parallelism N,
 * --checkpoint-ms N, --stall-watermarks, --slow-checkpoints, --exit-on-stdin-eof,
 * --rest-tls DIR (REST over HTTPS with DIR/server.p12 and DIR/truststore.p12, password "changeit").
 */
public class PipelineJobs {

    public static void main(String[] args) throws Exception {
        int restPort = 8081;
        int promPort = -1;
        long sleepMs = 5;
        int jobs = 1;
        int parallelism = 2;
        long checkpointMs = 1000;
        boolean stall = false;
        boolean slowCheckpoints = false;
        String tlsDir = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rest-port": restPort = Integer.parseInt(args[++i]); break;
                case "--prometheus-port": promPort = Integer.parseInt(args[++i]); break;
                case "--sleep-ms": sleepMs = Long.parseLong(args[++i]); break;
                case "--jobs": jobs = Integer.parseInt(args[++i]); break;
                case "--parallelism": parallelism = Integer.parseInt(args[++i]); break;
                case "--checkpoint-ms": checkpointMs = Long.parseLong(args[++i]); break;
                case "--stall-watermarks": stall = true; break;
                case "--slow-checkpoints": slowCheckpoints = true; break;
                case "--exit-on-stdin-eof": exitOnStdinEof(); break;
                case "--rest-tls": tlsDir = args[++i]; break;
                default:
                    System.err.println("unknown flag " + args[i]);
                    System.exit(2);
            }
        }
        int totalJobs = jobs + (stall ? 1 : 0) + (slowCheckpoints ? 1 : 0);

        Map<String, String> cluster = new HashMap<>();
        cluster.put("rest.bind-address", "127.0.0.1");
        cluster.put("rest.address", "127.0.0.1");
        cluster.put("rest.bind-port", Integer.toString(restPort));
        cluster.put("rest.port", Integer.toString(restPort));
        // The web UI's metric store refreshes every 10 s by default; tests want fresh numbers.
        cluster.put("metrics.fetcher.update-interval", "1000");
        cluster.put("taskmanager.numberOfTaskSlots", Integer.toString(totalJobs * parallelism));
        // Small in-flight buffers, so watermarks are not stuck behind minutes of queued records.
        cluster.put("taskmanager.network.memory.buffer-debloat.enabled", "true");
        Map<String, String> tls = restTls(tlsDir);
        cluster.putAll(tls);
        if (promPort > 0) {
            cluster.put("metrics.reporter.prom.factory.class",
                    "org.apache.flink.metrics.prometheus.PrometheusReporterFactory");
            cluster.put("metrics.reporter.prom.port", Integer.toString(promPort));
        }
        Configuration clusterConf = Configuration.fromMap(cluster);
        MiniCluster miniCluster = new MiniCluster(new MiniClusterConfiguration.Builder()
                .setConfiguration(clusterConf)
                .setNumTaskManagers(1)
                .setNumSlotsPerTaskManager(totalJobs * parallelism)
                .build());
        miniCluster.start();
        int boundPort = miniCluster.getRestAddress().get().getPort();

        for (int j = 1; j <= jobs; j++) {
            submit(boundPort, tls, "pipeline-" + j, parallelism, sleepMs, checkpointMs, false, false);
        }
        if (stall) {
            submit(boundPort, tls, "pipeline-stalled-watermarks", parallelism, sleepMs, checkpointMs, true, false);
        }
        if (slowCheckpoints) {
            submit(boundPort, tls, "pipeline-slow-checkpoints", parallelism, sleepMs, checkpointMs, false, true);
        }
        String scheme = tls.isEmpty() ? "http" : "https";
        System.out.println("READY rest=" + scheme + "://127.0.0.1:" + boundPort + " jobs=" + totalJobs);
        System.out.flush();
        // Runs until killed; the jobs are unbounded.
        Thread.currentThread().join();
    }

    /**
     * Flink's REST SSL settings for keystores made by the test (none without --rest-tls). The job
     * submission client needs the same ones: it talks to the REST API, too.
     */
    static Map<String, String> restTls(String dir) {
        Map<String, String> tls = new HashMap<>();
        if (dir == null) {
            return tls;
        }
        tls.put("security.ssl.rest.enabled", "true");
        tls.put("security.ssl.rest.keystore", dir + "/server.p12");
        tls.put("security.ssl.rest.keystore-password", "changeit");
        tls.put("security.ssl.rest.key-password", "changeit");
        tls.put("security.ssl.rest.keystore-type", "PKCS12");
        tls.put("security.ssl.rest.truststore", dir + "/truststore.p12");
        tls.put("security.ssl.rest.truststore-password", "changeit");
        tls.put("security.ssl.rest.truststore-type", "PKCS12");
        return tls;
    }

    /**
     * Exits when stdin closes: a test process that starts this launcher and dies (or never drops
     * its handle, e.g. a static) takes the JVM with it instead of leaking it.
     */
    static void exitOnStdinEof() {
        Thread watcher = new Thread(() -> {
            try {
                while (System.in.read() != -1) {
                    // Input is ignored; only the end of it matters.
                }
            } catch (java.io.IOException ignored) {
                // A broken stdin means the parent is gone, too.
            }
            Runtime.getRuntime().halt(0);
        }, "stdin-eof-watcher");
        watcher.setDaemon(true);
        watcher.start();
    }

    /** Builds one pipeline job and submits it to the running MiniCluster through its REST API. */
    static void submit(int restPort, Map<String, String> tls, String name, int parallelism, long sleepMs,
                       long checkpointMs, boolean stallWatermarks, boolean slowCheckpoints) throws Exception {
        Map<String, String> job = new HashMap<>(tls);
        job.put("execution.checkpointing.interval", checkpointMs + " ms");
        // Unaligned checkpoints complete despite the backpressure; the slow job keeps aligned ones.
        job.put("execution.checkpointing.unaligned.enabled", Boolean.toString(!slowCheckpoints));
        job.put("execution.checkpointing.timeout", slowCheckpoints ? "1500 ms" : "60 s");
        job.put("execution.checkpointing.tolerable-failed-checkpoints", "1000000");
        job.put("pipeline.auto-watermark-interval", "200 ms");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createRemoteEnvironment(
                "127.0.0.1", restPort, Configuration.fromMap(job));
        env.setParallelism(parallelism);

        final long start = System.currentTimeMillis();
        WatermarkStrategy<Long> watermarks = WatermarkStrategy
                .<Long>forBoundedOutOfOrderness(Duration.ofMillis(500))
                .withTimestampAssigner(stallWatermarks
                        // Event time freezes after the first 100 records: the watermark stops.
                        ? (value, previous) -> start + Math.min(value, 100L)
                        : (value, previous) -> System.currentTimeMillis());
        DataStream<Long> clicks = env.fromSource(
                new NumberSequenceSource(0, Long.MAX_VALUE), watermarks, "clicks");
        DataStream<String> enriched = clicks.map(new Enrich()).name("enrich");
        DataStream<String> scored = enriched.rebalance()
                .map(slowCheckpoints ? new SlowSnapshotScore(sleepMs) : new SlowScore(sleepMs))
                .name("slow-score");
        scored.sinkTo(new DiscardingSink<>()).name("orders-db");
        env.executeAsync(name);
    }

    /** ~1 KB records, so a network buffer holds few of them and backpressure shows quickly. */
    static class Enrich implements MapFunction<Long, String> {
        private static final String PADDING = "x".repeat(1000);

        @Override
        public String map(Long value) {
            return value + PADDING;
        }
    }

    /** The bottleneck: busy sleeping on every record. */
    static class SlowScore implements MapFunction<String, String> {
        final long sleepMs;

        SlowScore(long sleepMs) {
            this.sleepMs = sleepMs;
        }

        @Override
        public String map(String value) throws Exception {
            Thread.sleep(sleepMs);
            return value.substring(0, Math.min(20, value.length()));
        }
    }

    /** Same as SlowScore, but each snapshot takes longer than the checkpoint timeout. */
    static class SlowSnapshotScore extends SlowScore implements CheckpointedFunction {
        SlowSnapshotScore(long sleepMs) {
            super(sleepMs);
        }

        @Override
        public void snapshotState(FunctionSnapshotContext context) throws Exception {
            Thread.sleep(3000);
        }

        @Override
        public void initializeState(FunctionInitializationContext context) {}
    }
}
