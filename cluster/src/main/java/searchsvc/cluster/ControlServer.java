package searchsvc.cluster;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;

/**
 * One command line in, one JSON line out, on 127.0.0.1: "status", "stop-node N", "start-node N".
 * Commands run one at a time, so a test never races two restarts of the same node.
 */
final class ControlServer implements Runnable {

    private static final String HELP = "commands: status, stop-node N, start-node N";
    private static final int MAX_LINE = 200;

    private final LocalCluster cluster;
    private final ServerSocket server;

    ControlServer(LocalCluster cluster, int port) throws IOException {
        this.cluster = cluster;
        this.server = new ServerSocket(port, 16, InetAddress.getLoopbackAddress());
    }

    @Override
    public void run() {
        while (!server.isClosed()) {
            try (Socket client = server.accept()) {
                // A client that connects and says nothing must not block the next one for long.
                client.setSoTimeout(10_000);
                String reply = answer(readLine(client)) + "\n";
                OutputStream out = client.getOutputStream();
                out.write(reply.getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (SocketException e) {
                if (server.isClosed()) {
                    return;
                }
            } catch (IOException e) {
                // One bad client (timeout, reset) does not stop the server.
            }
        }
    }

    void close() throws IOException {
        server.close();
    }

    private static String readLine(Socket client) throws IOException {
        BufferedReader in = new BufferedReader(
                new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) != -1 && c != '\n' && line.length() <= MAX_LINE) {
            line.append((char) c);
        }
        return line.toString().trim();
    }

    /** Runs one command and returns its JSON reply; never throws. */
    String answer(String line) {
        String[] words = line.split("\\s+");
        try {
            if (words.length == 1 && words[0].equals("status")) {
                return status();
            }
            if (words.length == 2 && (words[0].equals("stop-node") || words[0].equals("start-node"))) {
                int node = nodeNumber(words[1]);
                long started = System.nanoTime();
                if (words[0].equals("stop-node")) {
                    cluster.stopNode(node);
                } else {
                    cluster.startNode(node);
                }
                long millis = (System.nanoTime() - started) / 1_000_000;
                ClusterMain.CONSOLE.println(words[0] + " " + node + " took " + millis + " ms");
                return "{\"ok\":true,\"node\":" + node + ",\"running\":" + cluster.isRunning(node)
                        + ",\"millis\":" + millis + "}";
            }
            return error("unknown command '" + shorten(line) + "'; " + HELP);
        } catch (IllegalArgumentException | IllegalStateException e) {
            return error(e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return error("interrupted");
        } catch (Exception e) {
            return error(e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    private String status() {
        StringBuilder json = new StringBuilder("{\"ok\":true,\"version\":\"")
                .append(LocalCluster.version()).append("\",\"nodes\":[");
        for (int node = 1; node <= cluster.size(); node++) {
            if (node > 1) {
                json.append(',');
            }
            json.append("{\"node\":").append(node)
                    .append(",\"http\":\"http://127.0.0.1:").append(cluster.httpPort(node))
                    .append("\",\"running\":").append(cluster.isRunning(node)).append('}');
        }
        return json.append("]}").toString();
    }

    private int nodeNumber(String word) {
        try {
            int node = Integer.parseInt(word);
            if (node >= 1 && node <= cluster.size()) {
                return node;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("node must be a number from 1 to " + cluster.size()
                + ", not '" + shorten(word) + "'");
    }

    private static String shorten(String text) {
        return text.length() > 40 ? text.substring(0, 40) + "..." : text;
    }

    static String error(String message) {
        return "{\"ok\":false,\"error\":\"" + escape(message) + "\"}";
    }

    private static String escape(String text) {
        StringBuilder out = new StringBuilder();
        for (char c : String.valueOf(text).toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.toString();
    }
}
