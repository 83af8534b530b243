package searchsvc.cluster;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.codelibs.opensearch.runner.OpenSearchRunner;
import org.opensearch.Version;
import org.opensearch.node.Node;

/** N OpenSearch nodes in this JVM; single nodes can be stopped and started again. */
final class LocalCluster {

    private final Options options;
    private final OpenSearchRunner runner = new OpenSearchRunner();
    private final HttpClient http = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(2)).build();

    LocalCluster(Options options) {
        this.options = options;
    }

    /** Where the nodes keep data, config and logs; per OpenSearch version, as data never downgrades. */
    Path basePath() {
        return options.workDir().resolve("nodes-" + Version.CURRENT);
    }

    /** One log folder for all nodes: they share this JVM's log4j set-up anyway. */
    Path logsPath() {
        return options.workDir().resolve("logs");
    }

    static String version() {
        return Version.CURRENT.toString();
    }

    /** Starts every node; returns when each has bound its ports, before the cluster is green. */
    void start() {
        List<String> seeds = new ArrayList<>();
        for (int node = 1; node <= options.nodes(); node++) {
            seeds.add("127.0.0.1:" + options.transportPort(node));
        }
        runner.onBuild((node, settings) -> {
            settings.put("node.name", "node-" + node);
            settings.put("network.host", "127.0.0.1");
            settings.put("transport.port", String.valueOf(options.transportPort(node)));
            settings.putList("discovery.seed_hosts", seeds);
            // Node 1 bootstraps alone, so start-up does not wait for a quorum of nodes not yet
            // started; the others join it. Once bootstrapped, the data directory remembers it.
            settings.putList("cluster.initial_cluster_manager_nodes", "node-1");
            // Nodes start one after another in this thread: on a restart with old data, node 1
            // would otherwise wait 30 s for a quorum that only the next nodes can give it.
            settings.put("discovery.initial_state_timeout", "0s");
            // A development cluster on a shared disk: other people's files must not make it
            // refuse writes or replicas.
            settings.put("cluster.routing.allocation.disk.threshold_enabled", "false");
        });
        // Fixed ports: by default the runner moves to the next free port, hiding a clash.
        runner.setMaxHttpPort(-1);
        runner.build("-basePath", basePath().toString(),
                "-numOfNode", String.valueOf(options.nodes()),
                "-baseHttpPort", String.valueOf(options.httpPort() - 1),
                "-clusterName", options.clusterName(),
                "-logsPath", logsPath().toString());
    }

    /** Waits until every node answers and the cluster is green; false once past the deadline. */
    boolean awaitGreen(long deadlineNanos) throws InterruptedException {
        String query = "/_cluster/health?wait_for_status=green&wait_for_nodes="
                + options.nodes() + "&timeout=5s";
        while (!allAnswer(query)) {
            if (System.nanoTime() > deadlineNanos) {
                return false;
            }
            Thread.sleep(500);
        }
        return true;
    }

    private boolean allAnswer(String query) {
        for (int node = 1; node <= options.nodes(); node++) {
            String body = get(options.httpPort(node), query);
            if (body == null || !body.contains("\"status\":\"green\"")
                    || !body.contains("\"timed_out\":false")) {
                return false;
            }
        }
        return true;
    }

    private String get(int port, String path) {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).GET().build();
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 ? response.body() : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    int size() {
        return options.nodes();
    }

    int httpPort(int node) {
        return options.httpPort(node);
    }

    synchronized boolean isRunning(int node) {
        Node n = runner.getNode(node - 1);
        return n != null && !n.isClosed();
    }

    /** Closes one node and waits until it has released its ports and data directory. */
    synchronized void stopNode(int node) throws IOException, InterruptedException {
        Node n = runner.getNode(node - 1);
        if (n == null || n.isClosed()) {
            throw new IllegalStateException("node " + node + " is not running");
        }
        n.close();
        if (!n.awaitClose(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("node " + node + " did not close within 60 s");
        }
    }

    /** Starts a stopped node again on the same ports and data; it rejoins the cluster. */
    synchronized void startNode(int node) {
        if (isRunning(node)) {
            throw new IllegalStateException("node " + node + " is already running");
        }
        if (!runner.startNode(node - 1)) {
            throw new IllegalStateException("node " + node + " failed to start; see the log");
        }
    }

    synchronized void close() throws IOException {
        runner.close();
    }
}
