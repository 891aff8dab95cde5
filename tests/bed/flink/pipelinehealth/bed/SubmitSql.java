package pipelinehealth.bed;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.TableResult;

/**
 * Submits a Flink SQL script the way {@code sql-client.sh -f} does, to a remote session cluster:
 * {@code SET 'key' = 'value';} statements become the job's configuration, every other statement
 * runs in one TableEnvironment, and the job id of each INSERT is printed as
 * {@code JOB_ID <id>} ({@code --explain}: the plan of each INSERT instead, nothing submitted).
 *
 * <p>The script stays the demo's file: {@code --replace FROM=TO} swaps an address written in it
 * (e.g. {@code kafka:9092}) for the bed's, and fails when FROM does not occur, so a renamed host
 * cannot slip through; {@code --set key=value} wins over the script's SET (the bed's REST port,
 * checkpoint interval).
 *
 * <pre>java -cp ... pipelinehealth.bed.SubmitSql --sql roas.sql --replace kafka:9092=127.0.0.1:9092 \
 *     --set rest.port=8081</pre>
 */
public final class SubmitSql {
    private static final Pattern SET =
            Pattern.compile("(?is)SET\\s+'([^']*)'\\s*=\\s*'([^']*)'");

    public static void main(String[] args) throws Exception {
        Path sqlFile = null;
        Map<String, String> replace = new LinkedHashMap<>();
        Map<String, String> overrides = new LinkedHashMap<>();
        boolean explain = false;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--explain")) {
                explain = true;
                continue;
            }
            String value = i + 1 < args.length ? args[i + 1] : null;
            if (value == null) {
                fail(arg + " needs a value");
            }
            switch (arg) {
                case "--sql":
                    sqlFile = Path.of(value);
                    break;
                case "--replace":
                    put(replace, value, arg);
                    break;
                case "--set":
                    put(overrides, value, arg);
                    break;
                default:
                    fail("unknown flag " + arg);
            }
            i++;
        }
        if (sqlFile == null) {
            fail("--sql FILE is required");
        }
        String script = new String(Files.readAllBytes(sqlFile), StandardCharsets.UTF_8);
        for (Map.Entry<String, String> r : replace.entrySet()) {
            if (!script.contains(r.getKey())) {
                fail(sqlFile + " does not contain `" + r.getKey() + "` (--replace)");
            }
            script = script.replace(r.getKey(), r.getValue());
        }

        Map<String, String> conf = new LinkedHashMap<>();
        List<String> statements = new ArrayList<>();
        for (String statement : split(script)) {
            Matcher set = SET.matcher(statement);
            if (set.matches()) {
                conf.put(set.group(1), set.group(2));
            } else {
                statements.add(statement);
            }
        }
        conf.putAll(overrides);

        TableEnvironment tEnv =
                TableEnvironment.create(
                        EnvironmentSettings.newInstance()
                                .inStreamingMode()
                                .withConfiguration(Configuration.fromMap(conf))
                                .build());
        int jobs = 0;
        for (String statement : statements) {
            if (explain && statement.regionMatches(true, 0, "INSERT", 0, 6)) {
                System.out.println(tEnv.explainSql(statement));
                jobs++;
                continue;
            }
            TableResult result = tEnv.executeSql(statement);
            if (result.getJobClient().isPresent()) {
                System.out.println("JOB_ID " + result.getJobClient().get().getJobID());
                jobs++;
            }
        }
        System.out.flush();
        // The client's RPC and planner threads are not daemons; the job runs on the cluster.
        System.exit(jobs > 0 ? 0 : 3);
    }

    private static void put(Map<String, String> into, String pair, String flag) {
        int eq = pair.indexOf('=');
        if (eq <= 0) {
            fail(flag + " takes KEY=VALUE, got `" + pair + "`");
        }
        into.put(pair.substring(0, eq), pair.substring(eq + 1));
    }

    /** Statements split on `;`, with `--` comments dropped; both ignored inside '...'. */
    static List<String> split(String script) {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < script.length(); i++) {
            char c = script.charAt(i);
            if (quoted) {
                current.append(c);
                if (c == '\'') {
                    quoted = false; // '' re-opens on the next char: an escaped quote
                }
            } else if (c == '\'') {
                quoted = true;
                current.append(c);
            } else if (c == '-' && i + 1 < script.length() && script.charAt(i + 1) == '-') {
                while (i < script.length() && script.charAt(i) != '\n') {
                    i++;
                }
                current.append('\n');
            } else if (c == ';') {
                add(out, current);
            } else {
                current.append(c);
            }
        }
        if (quoted) {
            fail("unterminated '...' in the script");
        }
        add(out, current);
        return out;
    }

    private static void add(List<String> out, StringBuilder statement) {
        String s = statement.toString().trim();
        if (!s.isEmpty()) {
            out.add(s);
        }
        statement.setLength(0);
    }

    private static void fail(String message) {
        System.err.println("SubmitSql: " + message);
        System.exit(2);
    }
}
