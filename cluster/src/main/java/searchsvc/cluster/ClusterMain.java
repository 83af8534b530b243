package searchsvc.cluster;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts a local OpenSearch cluster, waits until it is green, writes the ready file and serves the
 * control port until SIGTERM, which closes every node. Exit codes: 2 bad option, 3 port in use,
 * 1 no green cluster in time.
 */
public final class ClusterMain {

    /** The real stdout: OpenSearch's log set-up redirects System.out into its own log files. */
    static final PrintStream CONSOLE = System.out;

    private ClusterMain() {
    }

    public static void main(String[] args) throws Exception {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage() + "\n" + Options.USAGE);
            System.exit(2);
            return;
        }
        for (int port : options.allPorts()) {
            if (!isFree(port)) {
                System.err.println("error: port " + port + " on 127.0.0.1 is in use; is a cluster"
                        + " already running? (make opensearch-stop)");
                System.exit(3);
            }
        }
        Path workDir = options.workDir();
        Files.createDirectories(workDir);
        Path pidFile = workDir.resolve("cluster.pid");
        Path readyFile = workDir.resolve("ready.json");
        Files.deleteIfExists(readyFile);
        writeAtomically(pidFile, ProcessHandle.current().pid() + "\n");

        long started = System.nanoTime();
        LocalCluster cluster = new LocalCluster(options);
        ControlServer control = new ControlServer(cluster, options.controlPort());
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            long stopping = System.nanoTime();
            CONSOLE.println("Stopping the cluster...");
            try {
                control.close();
                cluster.close();
            } catch (IOException e) {
                CONSOLE.println("while closing: " + e);
            }
            deleteQuietly(readyFile);
            deleteQuietly(pidFile);
            CONSOLE.println("Stopped in " + (System.nanoTime() - stopping) / 1_000_000 + " ms");
        }, "cluster-shutdown"));

        CONSOLE.println("OpenSearch " + LocalCluster.version() + " on Java " + Runtime.version()
                + "; data in " + cluster.basePath() + ", logs in " + cluster.logsPath());
        try {
            cluster.start();
        } catch (RuntimeException e) {
            CONSOLE.println("error: a node failed to start: " + e);
            e.printStackTrace(CONSOLE);
            System.exit(1);
        }
        // The timeout counts from launch, node start-up included, as run.sh's does.
        long deadline = started + options.greenTimeoutSeconds() * 1_000_000_000L;
        if (!cluster.awaitGreen(deadline)) {
            CONSOLE.println("error: the cluster was not green within "
                    + options.greenTimeoutSeconds() + " s");
            System.exit(1);
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        new Thread(control, "cluster-control").start();
        writeAtomically(readyFile, readyJson(options, seconds));
        CONSOLE.printf("READY: %d nodes green in %.1f s; control on 127.0.0.1:%d%n",
                options.nodes(), seconds, options.controlPort());
    }

    private static boolean isFree(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static String readyJson(Options options, double seconds) {
        List<String> urls = new ArrayList<>();
        for (int node = 1; node <= options.nodes(); node++) {
            urls.add("http://127.0.0.1:" + options.httpPort(node));
        }
        return String.format(java.util.Locale.ROOT,
                "{\"pid\":%d,\"version\":\"%s\",\"urls\":\"%s\",\"control\":\"127.0.0.1:%d\","
                        + "\"seconds_to_green\":%.1f}%n",
                ProcessHandle.current().pid(), LocalCluster.version(), String.join(",", urls),
                options.controlPort(), seconds);
    }

    /** Readers (run.sh, tests) never see a half-written file. */
    private static void writeAtomically(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // the stop script removes stale files too
        }
    }
}
