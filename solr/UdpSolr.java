/*
 * Local Apache Solr 9 for development and CI of ckanext-udp.
 *
 * Starts Solr's own JettySolrRunner (solr-test-framework, package
 * org.apache.solr.embedded) on 127.0.0.1:<port> with context /solr. It runs the
 * normal SolrDispatchFilter/CoreContainer and discovers the cores of
 * <solr_home> (solr.xml, <core>/core.properties, <core>/conf/).
 *
 * Solr only logs a core that fails to load; this launcher turns such failures
 * (and an empty home) into a non-zero exit. It prints one line starting with
 * "UDP_SOLR_READY" when every core answers /select, then blocks until it is
 * killed; SIGTERM/SIGINT shut Solr down cleanly (cores are closed and
 * committed).
 *
 * Usage (classpath from solr/pom.xml, see scripts/solr.sh):
 *   java -cp "$(cat classpath.txt)" UdpSolr.java <solr_home> <port>
 * Port 0 picks a free port (printed in the ready line).
 *
 * Exit codes: 0 clean shutdown, 1 start-up failure, 2 usage error.
 */

import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.solr.core.CoreContainer;
import org.apache.solr.embedded.JettyConfig;
import org.apache.solr.embedded.JettySolrRunner;

public class UdpSolr {

  private static final PrintStream OUT = System.out;
  // Strong reference: java.util.logging keeps loggers only weakly.
  private static final Logger JERSEY_JUL = Logger.getLogger("org.glassfish.jersey");

  private static void setDefault(String key, String value) {
    if (System.getProperty(key) == null) System.setProperty(key, value);
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: UdpSolr <solr_home> <port>");
      System.exit(2);
    }
    Path home = Path.of(args[0]).toAbsolutePath().normalize();
    int port;
    try {
      port = Integer.parseInt(args[1]);
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (port < 0 || port > 65535) {
      System.err.println("UdpSolr: bad port: " + args[1]);
      System.exit(2);
    }
    if (!Files.isRegularFile(home.resolve("solr.xml"))) {
      System.err.println("UdpSolr: no solr.xml in " + home);
      System.exit(2);
    }

    long t0 = System.nanoTime();
    // Standalone Solr (no ZooKeeper) whose files all live under the home.
    System.setProperty("solr.solr.home", home.toString());
    // Solr warns at start-up without these; scripts/solr.sh passes solr.log.dir.
    setDefault("solr.log.dir", home.toString());
    setDefault("solr.install.dir", home.toString());
    // Jersey logs a harmless provider warning through java.util.logging.
    JERSEY_JUL.setLevel(Level.SEVERE);
    System.setProperty("java.awt.headless", "true");

    // (JettyConfig.Builder reads SolrTestCaseJ4.sslConfig, hence junit,
    // randomizedtesting and lucene-test-framework on the classpath; it is null.)
    JettyConfig config =
        JettyConfig.builder()
            .setContext("/solr")
            .setPort(port)
            .stopAtShutdown(false) // our own shutdown hook stops Solr
            .withPortRetryTime(0) // port in use: fail at once
            .waitForLoadingCoresToFinish(170_000L)
            .build();
    Properties nodeProps = new Properties();
    nodeProps.setProperty("host", "127.0.0.1");
    JettySolrRunner runner = new JettySolrRunner(home.toString(), nodeProps, config);

    // Registered before start: SIGTERM at any time closes the cores cleanly.
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  OUT.println("UdpSolr: shutting down");
                  try {
                    runner.stop();
                  } catch (Throwable t) {
                    System.err.println("UdpSolr: error while stopping: " + describe(t));
                  }
                  OUT.println("UdpSolr: stopped");
                  OUT.flush();
                  stopped.countDown();
                },
                "udp-solr-shutdown"));

    try {
      runner.start();
    } catch (Exception e) {
      fail(runner, "Jetty/Solr did not start: " + describe(e));
    }

    CoreContainer cores = null;
    try {
      cores = runner.getCoreContainer();
    } catch (Exception e) {
      fail(runner, "no CoreContainer: " + describe(e));
    }
    if (cores == null || cores.isShutDown()) {
      fail(runner, "CoreContainer did not start (see the log above; broken solr.xml?)");
    }

    Map<String, CoreContainer.CoreLoadFailure> failures = cores.getCoreInitFailures();
    if (!failures.isEmpty()) {
      StringBuilder sb = new StringBuilder("core init failure(s):");
      for (Map.Entry<String, CoreContainer.CoreLoadFailure> f : failures.entrySet()) {
        sb.append("\n  ").append(f.getKey()).append(": ").append(describe(f.getValue().exception));
      }
      fail(runner, sb.toString());
    }
    List<String> names = new ArrayList<>(cores.getLoadedCoreNames());
    names.sort(null);
    if (names.isEmpty()) {
      fail(runner, "no cores found under " + home + " (need <core>/core.properties)");
    }

    int boundPort = runner.getLocalPort();
    String base = "http://127.0.0.1:" + boundPort + "/solr";
    // Readiness as clients see it: every core answers a search over HTTP.
    HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    for (String core : names) {
      String url = base + "/" + core + "/select?q=*:*&rows=0";
      int status;
      try {
        HttpRequest req =
            HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).GET().build();
        status = http.send(req, HttpResponse.BodyHandlers.discarding()).statusCode();
      } catch (Exception e) {
        status = -1;
      }
      if (status != 200) {
        fail(runner, "readiness check failed (" + status + "): " + url);
      }
    }

    long ms = (System.nanoTime() - t0) / 1_000_000;
    OUT.println(
        "UDP_SOLR_READY url=" + base + " port=" + boundPort + " cores=" + String.join(",", names)
            + " home=" + home + " startup_ms=" + ms);
    OUT.flush();

    stopped.await();
  }

  private static void fail(JettySolrRunner runner, String msg) {
    System.err.println("UdpSolr: FAILED: " + msg);
    System.err.flush();
    try {
      runner.stop();
    } catch (Throwable ignored) {
      // already broken; exit anyway
    }
    Runtime.getRuntime().halt(1);
  }

  private static String describe(Throwable t) {
    StringBuilder sb = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (sb.length() > 0) sb.append(" <- caused by: ");
      sb.append(c.getClass().getName()).append(": ").append(c.getMessage());
    }
    return sb.toString();
  }
}
