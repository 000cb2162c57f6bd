/*
 * SolrCloud on loopback for ckanext-udp (scripts/cluster.sh): one Solr node in
 * cloud mode, or a configset upload to ZooKeeper. Same jars as the single-core
 * Solr (solr/pom.xml); ZooKeeper itself runs as ZooKeeperServerMain from the
 * org.apache.zookeeper:zookeeper jar on that classpath.
 *
 *   java -DzkHost=127.0.0.1:<zk> -DhostPort=<port> -cp CP UdpSolrCloud node <solr_home> <port>
 *       JettySolrRunner on 127.0.0.1:<port>/solr in cloud mode (solr_home/solr.xml has a
 *       <solrcloud> section); prints "UDP_SOLR_READY ..." once the node is in ZooKeeper's
 *       live_nodes, then blocks; SIGTERM closes the node cleanly.
 *   java -cp CP UdpSolrCloud upconfig <zkHost> <conf_dir> <configset_name>
 *       uploads conf_dir to /configs/<configset_name> (replacing files of the same name).
 *
 * Exit codes: 0 ok / clean shutdown, 1 failure, 2 usage error.
 */

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.solr.cloud.ZkController;
import org.apache.solr.common.cloud.SolrZkClient;
import org.apache.solr.common.cloud.ZkMaintenanceUtils;
import org.apache.solr.core.CoreContainer;
import org.apache.solr.embedded.JettyConfig;
import org.apache.solr.embedded.JettySolrRunner;

public class UdpSolrCloud {

  private static final PrintStream OUT = System.out;
  private static final Logger JERSEY_JUL = Logger.getLogger("org.glassfish.jersey");

  public static void main(String[] args) throws Exception {
    if (args.length == 3 && args[0].equals("node")) {
      node(Path.of(args[1]).toAbsolutePath().normalize(), Integer.parseInt(args[2]));
    } else if (args.length == 4 && args[0].equals("upconfig")) {
      upconfig(args[1], Path.of(args[2]), args[3]);
    } else {
      System.err.println(
          "usage: UdpSolrCloud node <solr_home> <port> | upconfig <zkHost> <conf_dir> <name>");
      System.exit(2);
    }
  }

  private static void upconfig(String zkHost, Path conf, String name) throws Exception {
    if (!Files.isRegularFile(conf.resolve("solrconfig.xml"))) {
      System.err.println("UdpSolrCloud: no solrconfig.xml in " + conf);
      System.exit(2);
    }
    try (SolrZkClient zk =
        new SolrZkClient.Builder()
            .withUrl(zkHost)
            .withTimeout(30_000, TimeUnit.MILLISECONDS)
            .withConnTimeOut(30_000, TimeUnit.MILLISECONDS)
            .build()) {
      ZkMaintenanceUtils.uploadToZK(zk, conf, "/configs/" + name, null);
    }
    OUT.println("UdpSolrCloud: configset " + name + " uploaded from " + conf + " to " + zkHost);
  }

  private static void node(Path home, int port) throws Exception {
    if (System.getProperty("zkHost") == null) {
      System.err.println("UdpSolrCloud: -DzkHost=host:port is required");
      System.exit(2);
    }
    if (!Files.isRegularFile(home.resolve("solr.xml"))) {
      System.err.println("UdpSolrCloud: no solr.xml in " + home);
      System.exit(2);
    }
    long t0 = System.nanoTime();
    System.setProperty("solr.solr.home", home.toString());
    if (System.getProperty("solr.log.dir") == null) System.setProperty("solr.log.dir", home.toString());
    if (System.getProperty("solr.install.dir") == null) {
      System.setProperty("solr.install.dir", home.toString());
    }
    JERSEY_JUL.setLevel(Level.SEVERE);
    System.setProperty("java.awt.headless", "true");

    JettyConfig config =
        JettyConfig.builder()
            .setContext("/solr")
            .setPort(port)
            .stopAtShutdown(false)
            .withPortRetryTime(0)
            .waitForLoadingCoresToFinish(170_000L)
            .build();
    Properties nodeProps = new Properties();
    nodeProps.setProperty("host", "127.0.0.1");
    nodeProps.setProperty("hostPort", Integer.toString(port));
    JettySolrRunner runner = new JettySolrRunner(home.toString(), nodeProps, config);

    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  OUT.println("UdpSolrCloud: shutting down");
                  try {
                    runner.stop();
                  } catch (Throwable t) {
                    System.err.println("UdpSolrCloud: error while stopping: " + t);
                  }
                  OUT.println("UdpSolrCloud: stopped");
                  OUT.flush();
                  stopped.countDown();
                },
                "udp-solrcloud-shutdown"));

    try {
      runner.start();
    } catch (Exception e) {
      fail(runner, "Jetty/Solr did not start: " + e);
    }
    CoreContainer cores = runner.getCoreContainer();
    if (cores == null || cores.isShutDown() || !cores.isZooKeeperAware()) {
      fail(runner, "CoreContainer not started in cloud mode (see the log; ZooKeeper reachable?)");
    }
    ZkController zk = cores.getZkController();
    String nodeName = zk.getNodeName();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!zk.getZkStateReader().isNodeLive(nodeName)) {
      if (System.nanoTime() > deadline) fail(runner, "node never appeared in live_nodes");
      Thread.sleep(100);
    }
    long ms = (System.nanoTime() - t0) / 1_000_000;
    OUT.println(
        "UDP_SOLR_READY url=http://127.0.0.1:" + runner.getLocalPort() + "/solr node=" + nodeName
            + " zkHost=" + System.getProperty("zkHost") + " startup_ms=" + ms);
    OUT.flush();
    stopped.await();
  }

  private static void fail(JettySolrRunner runner, String msg) {
    System.err.println("UdpSolrCloud: FAILED: " + msg);
    System.err.flush();
    try {
      runner.stop();
    } catch (Throwable ignored) {
      // already broken
    }
    Runtime.getRuntime().halt(1);
  }
}
