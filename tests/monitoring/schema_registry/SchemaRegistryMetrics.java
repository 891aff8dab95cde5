// Registers, in this JVM, the metrics Confluent Schema Registry registers, through the same code
// path Schema Registry uses: Kafka's org.apache.kafka.common.metrics.Metrics with a JmxReporter
// under the JMX prefix "kafka.schema.registry" (MetricsContainer, and rest-utils' Jersey and
// Jetty listeners). Schema Registry itself is not on Maven Central, so this is how its MBean
// names (domain, type=<group>, tags, attribute names) come into being here: Kafka's JmxReporter
// builds them from (group, name, tags) exactly as it does inside Schema Registry.
//
// Run with the JMX exporter agent attached (java -javaagent:agent.jar=PORT:schema-registry.yml
// -cp 'kafka-jars/*' SchemaRegistryMetrics.java). Reads metrics from stdin, one per line:
//   <jmx prefix> TAB <group> TAB <name> TAB <k=v,k=v or empty>
// up to a line "END"; then prints "BEAN <TAB> <object name> <TAB> <attribute>" for every MBean
// attribute registered under those prefixes, then "READY", and exits when stdin closes.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.metrics.JmxReporter;
import org.apache.kafka.common.metrics.KafkaMetricsContext;
import org.apache.kafka.common.metrics.Measurable;
import org.apache.kafka.common.metrics.MetricConfig;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.metrics.MetricsReporter;
import org.apache.kafka.common.utils.Time;

public class SchemaRegistryMetrics {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        Map<String, Metrics> byPrefix = new LinkedHashMap<>();
        String line;
        double next = 1;
        while ((line = in.readLine()) != null && !line.equals("END")) {
            String[] f = line.split("\t", -1);
            Metrics metrics = byPrefix.computeIfAbsent(f[0], prefix -> {
                JmxReporter reporter = new JmxReporter();
                reporter.configure(Map.of());
                return new Metrics(new MetricConfig(), List.<MetricsReporter>of(reporter), Time.SYSTEM,
                        new KafkaMetricsContext(prefix));
            });
            Map<String, String> tags = new LinkedHashMap<>();
            if (!f[3].isEmpty()) {
                for (String pair : f[3].split(",")) {
                    String[] kv = pair.split("=", 2);
                    tags.put(kv[0], kv[1]);
                }
            }
            final double value = next++;
            metrics.addMetric(new MetricName(f[2], f[1], "", tags), (Measurable) (config, now) -> value);
        }
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        for (String prefix : byPrefix.keySet()) {
            TreeSet<String> names = new TreeSet<>();
            for (ObjectName name : server.queryNames(new ObjectName(prefix + ":*"), null)) {
                names.add(name.toString());
            }
            for (String name : names) {
                for (MBeanAttributeInfo attribute : server.getMBeanInfo(new ObjectName(name)).getAttributes()) {
                    System.out.println("BEAN\t" + name + "\t" + attribute.getName());
                }
            }
        }
        System.out.println("READY");
        System.out.flush();
        while (in.readLine() != null) {
            // stay up until the test closes stdin
        }
        for (Metrics metrics : byPrefix.values()) {
            metrics.close();
        }
    }
}
