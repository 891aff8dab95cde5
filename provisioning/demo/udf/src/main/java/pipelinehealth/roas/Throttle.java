package pipelinehealth.roas;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * {@code throttle(x)} returns {@code x} after sleeping the number of microseconds per record
 * written in a control file: the ROAS job's one slowable operator, so a test can make a real
 * bottleneck. The file's path comes from the system property {@code roas.throttle.file} or the
 * environment variable {@code ROAS_THROTTLE_FILE}; without either, or without the file, it never
 * sleeps (the demo runs unthrottled). The file is read at most every 500 ms per JVM.
 */
public class Throttle extends ScalarFunction {
    private static final long REREAD_NANOS = 500_000_000L;
    private static final Path FILE = controlFile();
    private static volatile long sleepNanos;
    private static volatile long lastRead = System.nanoTime() - REREAD_NANOS;

    public String eval(String value) {
        pause();
        return value;
    }

    // Not deterministic to the planner: it must stay one call per record, where it was written.
    @Override
    public boolean isDeterministic() {
        return false;
    }

    private static void pause() {
        long now = System.nanoTime();
        if (now - lastRead >= REREAD_NANOS) {
            lastRead = now;
            sleepNanos = readMicros() * 1_000L;
        }
        long nanos = sleepNanos;
        if (nanos <= 0) {
            return;
        }
        long deadline = now + nanos;
        for (long left = nanos; left > 0; left = deadline - System.nanoTime()) {
            LockSupport.parkNanos(left);
        }
    }

    private static long readMicros() {
        if (FILE == null) {
            return 0;
        }
        try {
            String text = new String(Files.readAllBytes(FILE), StandardCharsets.UTF_8).trim();
            return text.isEmpty() ? 0 : Math.max(0, Long.parseLong(text));
        } catch (NoSuchFileException e) {
            return 0;
        } catch (IOException | NumberFormatException e) {
            // A half-written file: keep the last value until the next read.
            return sleepNanos / 1_000L;
        }
    }

    private static Path controlFile() {
        String path = System.getProperty("roas.throttle.file");
        if (path == null || path.isEmpty()) {
            path = System.getenv("ROAS_THROTTLE_FILE");
        }
        return path == null || path.isEmpty() ? null : Path.of(path);
    }
}
