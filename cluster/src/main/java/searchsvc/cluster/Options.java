package searchsvc.cluster;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Command-line options of the local cluster; every port is on 127.0.0.1. */
record Options(
        int nodes,
        int httpPort,
        int transportPort,
        int controlPort,
        String clusterName,
        Path workDir,
        int greenTimeoutSeconds) {

    static final String USAGE = String.join("\n",
            "usage: ClusterMain [--nodes 3] [--http-port 9201] [--transport-port 9301]",
            "                   [--control-port 9290] [--cluster-name searchsvc-dev]",
            "                   [--work-dir cluster/.work] [--green-timeout 180]",
            "Node N listens for HTTP on http-port+N-1 and for transport on transport-port+N-1.");

    /** Parses "--name value" pairs; throws IllegalArgumentException with a readable message. */
    static Options parse(String[] args) {
        int nodes = 3;
        int httpPort = 9201;
        int transportPort = 9301;
        int controlPort = 9290;
        String clusterName = "searchsvc-dev";
        Path workDir = Path.of("cluster", ".work");
        int greenTimeout = 180;
        for (int i = 0; i < args.length; i += 2) {
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("missing value after " + args[i]);
            }
            String value = args[i + 1];
            switch (args[i]) {
                case "--nodes" -> nodes = number(args[i], value, 1, 9);
                case "--http-port" -> httpPort = number(args[i], value, 1024, 65000);
                case "--transport-port" -> transportPort = number(args[i], value, 1024, 65000);
                case "--control-port" -> controlPort = number(args[i], value, 1024, 65535);
                case "--cluster-name" -> clusterName = name(value);
                case "--work-dir" -> workDir = Path.of(value);
                case "--green-timeout" -> greenTimeout = number(args[i], value, 1, 3600);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        return new Options(nodes, httpPort, transportPort, controlPort, clusterName,
                workDir.toAbsolutePath().normalize(), greenTimeout);
    }

    int httpPort(int node) {
        return httpPort + node - 1;
    }

    int transportPort(int node) {
        return transportPort + node - 1;
    }

    /** Every port the cluster will bind, so a clash is reported before any node starts. */
    List<Integer> allPorts() {
        List<Integer> ports = new ArrayList<>();
        for (int node = 1; node <= nodes; node++) {
            ports.add(httpPort(node));
            ports.add(transportPort(node));
        }
        ports.add(controlPort);
        return ports;
    }

    private static int number(String option, String value, int min, int max) {
        try {
            int n = Integer.parseInt(value);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below with the accepted range
        }
        throw new IllegalArgumentException(option + " takes a number from " + min + " to " + max
                + ", not '" + value + "'");
    }

    private static String name(String value) {
        if (!value.matches("[A-Za-z0-9_-]{1,64}")) {
            throw new IllegalArgumentException("--cluster-name takes letters, digits, '-' or '_'");
        }
        return value;
    }
}
