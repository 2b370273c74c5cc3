package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.kextnet.cli.ProjectKit.Kind;
import org.kextnet.kernel.inet.Pinger;
import org.kextnet.kernel.inet.udp.UdpSocket;
import org.kextnet.kernel.wire.Ipv4;

import picocli.CommandLine;

/**
 * {@code kextnet new} end to end, as an author uses it: a project of every kind made against this build's
 * distribution repository (cli/target/dist/repo, filled at package, so this runs at integration-test), built by its
 * own pom with {@code mvn -o verify} in a Maven of its own (its test-kit test runs and passes), then the jar it built
 * added to a kern_loader joined to a kernel with {@code kl_util -a}, used as its README says, and deleted with
 * {@code kl_util -d}, leaving nothing in the kernel.
 *
 * <p>The builds read nothing of org.kextnet from anywhere but the distribution: their local repository is a fresh
 * one, and the plugins and libraries come from a read-only view of this build's local repository without its
 * org/kextnet (whatever an earlier {@code mvn install} put there). That view is the only other repository they know.
 */
class NewProjectsIT extends SampleDaemon {
    static final Path DIST_REPO = Path.of("target", "dist", "repo").toAbsolutePath();
    @TempDir static Path work;
    static Path settings, localRepo;
    static final Map<Kind, Build> builds = new EnumMap<>(Kind.class);

    /** One project's build: the exit status of {@code mvn -o verify} and what it printed. */
    record Build(Path project, String name, int code, String log) {}

    static String nameOf(Kind k) { return "my-" + k.word; }

    @BeforeAll static void makeAndBuildEveryKind() throws Exception {
        assertThat(DIST_REPO.resolve(ProjectKit.kpiJarPath())).as("the distribution's repository (package phase)").isRegularFile();
        Path seed = seed(Path.of(System.getProperty("kextnet.localRepository", System.getProperty("user.home") + "/.m2/repository")));
        localRepo = work.resolve("m2");
        settings = work.resolve("settings.xml");
        Files.writeString(settings, """
                <settings>
                  <profiles><profile><id>seed</id>
                    <repositories><repository><id>seed</id><url>%1$s</url>
                      <releases><checksumPolicy>ignore</checksumPolicy></releases><snapshots><enabled>false</enabled></snapshots>
                    </repository></repositories>
                    <pluginRepositories><pluginRepository><id>seed</id><url>%1$s</url>
                      <releases><checksumPolicy>ignore</checksumPolicy></releases><snapshots><enabled>false</enabled></snapshots>
                    </pluginRepository></pluginRepositories>
                  </profile></profiles>
                  <activeProfiles><activeProfile>seed</activeProfile></activeProfiles>
                </settings>
                """.formatted(seed.toUri()));
        for (Kind k : Kind.values()) {
            Path p = work.resolve(k.word);
            StringWriter out = new StringWriter(), err = new StringWriter();
            CommandLine cl = Commands.commandLine();
            cl.setOut(new PrintWriter(out, true));
            cl.setErr(new PrintWriter(err, true));
            int made = cl.execute("new", k.word, nameOf(k), "--dir", p.toString(), "--repository", DIST_REPO.toString());
            assertThat(made).as("kextnet new %s: %s", k.word, err).isZero();
            builds.put(k, mvn(p, nameOf(k), System.getProperty("java.home"), "verify"));
        }
    }

    /**
     * A view of {@code m2} (symbolic links, read through a file: URL, never written) without org/kextnet, so that a
     * project can take kextnet only from the distribution's repository.
     */
    static Path seed(Path m2) throws IOException {
        assertThat(m2).as("this build's local repository").isDirectory();
        Path seed = Files.createDirectories(work.resolve("seed"));
        try (Stream<Path> top = Files.list(m2)) {
            for (Path t : top.toList()) {
                if (!t.getFileName().toString().equals("org")) {
                    Files.createSymbolicLink(seed.resolve(t.getFileName().toString()), t);
                    continue;
                }
                Path org = Files.createDirectories(seed.resolve("org"));
                try (Stream<Path> groups = Files.list(t)) {
                    for (Path g : groups.toList()) {
                        if (!g.getFileName().toString().equals("kextnet")) Files.createSymbolicLink(org.resolve(g.getFileName().toString()), g);
                    }
                }
            }
        }
        return seed;
    }

    /** {@code mvn -B -o GOALS} in {@code project} on the JDK {@code javaHome}, bounded to ten minutes. */
    static Build mvn(Path project, String name, String javaHome, String... goals) throws Exception {
        String home = System.getProperty("maven.home");
        String mvn = home != null ? Path.of(home, "bin", "mvn").toString() : "mvn";
        List<String> cmd = new ArrayList<>(List.of(mvn, "-B", "-o", "-s", settings.toString(), "-Dmaven.repo.local=" + localRepo));
        cmd.addAll(List.of(goals));
        Path log = work.resolve(project.getFileName() + "-" + Path.of(javaHome).getFileName() + ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(project.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("JAVA_HOME", javaHome);
        pb.environment().put("MAVEN_OPTS", "-XX:TieredStopAtLevel=1"); // a short-lived Maven starts faster
        Process proc = pb.start();
        if (!proc.waitFor(10, TimeUnit.MINUTES)) {
            proc.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            fail("mvn in " + project + " did not finish in 10 minutes: " + Files.readString(log));
        }
        return new Build(project, name, proc.exitValue(), Files.readString(log));
    }

    static final Pattern TESTS = Pattern.compile("(?m)^\\[INFO] Tests run: (\\d+), Failures: 0, Errors: 0, Skipped: 0$");

    /** The build passed, its tests ran and passed, and kextnet came from the distribution byte for byte. */
    static Build built(Kind k) throws IOException {
        Build b = builds.get(k);
        assertThat(b.code()).as("mvn -o verify of %s:%n%s", k.word, b.log()).isZero();
        Matcher m = TESTS.matcher(b.log());
        assertThat(m.find()).as("the test kit test ran and passed:%n%s", b.log()).isTrue();
        assertThat(Integer.parseInt(m.group(1))).isPositive();
        assertThat(b.log()).doesNotContain("[WARNING]");
        for (String a : List.of("kextnet-kpi", "kextnet-testkit", "kextnet-kernel")) {
            String jar = ProjectKit.kpiJarPath().replace("kextnet-kpi", a);
            assertThat(Files.mismatch(localRepo.resolve(jar), DIST_REPO.resolve(jar))).as("%s is the distribution's", a).isEqualTo(-1L);
        }
        Path script = b.project().resolve("target").resolve(b.name() + ".kern_server");
        assertThat(script).isRegularFile();
        assertThat(script.resolveSibling(b.name() + ".jar")).isRegularFile();
        return b;
    }

    Path add(Kind k, String... expected) throws IOException {
        Path script = built(k).project().resolve("target").resolve(nameOf(k) + ".kern_server");
        Run add = run("kl_util", "-a", script.toString());
        assertThat(add.code()).as(add.err()).isZero();
        assertThat(add.out()).contains(expected);
        return script;
    }

    void delete(String name) throws InterruptedException {
        Run d = run("kl_util", "-d", name);
        assertThat(d.code()).as(d.err()).isZero();
        assertThat(run("kl_util", "-s").out()).isEqualTo("No servers active\n");
        nothingLeft(name);
    }

    String port(String name, String message) {
        Run r = run("port", "send", name, message);
        assertThat(r.code()).as(r.err()).isZero();
        return r.out();
    }

    /** A datagram from the peer to the kernel's {@code port}: whether an answer came back within a second. */
    boolean udp(int port, String text) throws Exception {
        try (UdpSocket so = peer.udp().open().bind(0, 0)) {
            so.send(ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII)), Ipv4.parse(KERNEL_IP), port);
            return so.receive(ByteBuffer.allocate(64), 1, TimeUnit.SECONDS) != null;
        }
    }

    @ParameterizedTest @EnumSource(Kind.class)
    void everyKindBuildsOfflineAgainstTheDistributionAndItsTestPasses(Kind k) throws IOException {
        built(k);
    }

    @Test void ipFilterLoadsDropsUdpToItsPortAndUnloads() throws Exception {
        String name = nameOf(Kind.IP_FILTER);
        add(Kind.IP_FILTER, name + ": started, registrations {ipfilter=1}");
        admin.execute("service udp-echo 9");
        admin.execute("service udp-echo 7");
        assertThat(udp(9, "drop")).as("UDP to port 9 dropped").isFalse();
        assertThat(udp(7, "pass")).as("UDP to port 7 answered").isTrue();
        assertThat(port(name, "stats")).contains("udp port 9: dropped 1, passed 1");
        WeakReference<ClassLoader> cl = classLoaderOf(name);
        delete(name);
        assertThat(udp(9, "again")).as("port 9 answered once the filter is gone").isTrue();
        assertCollected(cl);
    }

    @Test void interfaceFilterCountsAPingAndUnloads() throws Exception {
        String name = nameOf(Kind.INTERFACE_FILTER);
        add(Kind.INTERFACE_FILTER, name + ": started, registrations {iff=");
        try (Pinger p = peer.pinger()) {
            assertThat(p.ping(Ipv4.parse(KERNEL_IP), 1, 56, 5, TimeUnit.SECONDS)).isNotNegative();
        }
        Matcher m = Pattern.compile("wire0: in inet (\\d+) other \\d+, out inet (\\d+) other \\d+").matcher(port(name, "stats"));
        assertThat(m.find()).isTrue();
        assertThat(Integer.parseInt(m.group(1))).as("the request, and ARP's if any").isBetween(1, 3);
        assertThat(Integer.parseInt(m.group(2))).as("the reply, and ARP's if any").isBetween(1, 3);
        WeakReference<ClassLoader> cl = classLoaderOf(name);
        delete(name);
        assertCollected(cl);
    }

    @Test void socketFilterCountsAnEchoServicesDatagramsAndUnloads() throws Exception {
        String name = nameOf(Kind.SOCKET_FILTER);
        add(Kind.SOCKET_FILTER, name + ": started, registrations {sflt=1}");
        admin.execute("service udp-echo 7"); // its socket is made after the filter: filtered
        assertThat(udp(7, "ping")).isTrue();
        assertThat(port(name, "stats")).contains("in 1 datagrams 4 bytes, out 1 datagrams 4 bytes, refused 0 to port 9");
        delete(name);
        assertThat(udp(7, "ping")).as("the service still answers once the filter is gone").isTrue();
    }

    @Test void kernelControlAnswersClientsAndUnloads() throws Exception {
        String name = nameOf(Kind.KERNEL_CONTROL);
        add(Kind.KERNEL_CONTROL, name + ": started, registrations {kctl=1}");
        assertThat(run("ctl", "send", name, "set", "mode", "strict")).isEqualTo(new Run(0, "ok\n", ""));
        assertThat(run("ctl", "send", name, "get", "mode")).isEqualTo(new Run(0, "strict\n", ""));
        delete(name);
    }

    @Test void serverLoadsOnItsFirstMessageAnswersAndUnloads() throws Exception {
        String name = nameOf(Kind.SERVER);
        add(Kind.SERVER, name + ": allocated");
        assertThat(run("kl_util", "-s").out()).isEqualTo("SERVER: " + name + " Allocated\n");
        assertThat(port(name, "x")).contains("wire0 up mtu 1500: in ", "lo0 ");
        assertThat(run("kl_util", "-s").out()).isEqualTo("SERVER: " + name + " Loaded\n");
        delete(name);
    }

    /** Under Maven on JDK 17 a project stops at once with the message that says what to do. */
    @Test void onJdk17TheBuildSaysToUseJdk25() throws Exception {
        Path jdk17 = Path.of("/usr/lib/jvm/java-17-openjdk-amd64");
        if (!Files.isExecutable(jdk17.resolve("bin/java"))) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) fail("CI=true but there is no JDK 17 at " + jdk17);
            assumeTrue(false, "no JDK 17 at " + jdk17);
        }
        Build b = mvn(builds.get(Kind.IP_FILTER).project(), nameOf(Kind.IP_FILTER), jdk17.toString(), "-q", "validate");
        assertThat(b.code()).isEqualTo(1);
        assertThat(b.log()).contains(nameOf(Kind.IP_FILTER) + " needs JDK 25, and mvn runs on the JDK that JAVA_HOME names."
                + " Set JAVA_HOME to a JDK 25, for example: JAVA_HOME=" + System.getProperty("java.home") + " mvn verify");
    }
}
