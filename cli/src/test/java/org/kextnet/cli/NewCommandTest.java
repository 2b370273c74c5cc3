package org.kextnet.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.kextnet.cli.CommandsTest.run;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.cli.CommandsTest.Run;
import org.kextnet.cli.ProjectKit.Kind;

/**
 * {@code kextnet new}: what it writes for each kind (every placeholder filled, the manifest keys kern_loader reads,
 * sources that compile against the KPI and the test kit), and what it refuses without writing anything. Building the
 * projects with Maven and loading them under kern_loader is NewProjectsIT's.
 */
class NewCommandTest {
    @TempDir Path dir;
    Path repo;

    /** A repository that has the KPI jar where the projects' poms will look (its content is not read here). */
    @BeforeEach void repository() throws IOException {
        repo = dir.resolve("dist/repo");
        Path kpi = repo.resolve(ProjectKit.kpiJarPath());
        Files.createDirectories(kpi.getParent());
        Files.write(kpi, new byte[0]);
    }

    Run make(String kind, String name, String... more) {
        List<String> args = new ArrayList<>(List.of("new", kind, name, "--repository", repo.toString()));
        args.addAll(List.of(more));
        return run(args.toArray(String[]::new));
    }

    @Test void helpNamesTheKindsTheNameRulesAndTheExitStatus() {
        Run help = run("new", "--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("Usage: kextnet new", "KIND", "NAME", "--dir", "--package", "--repository",
                "ip-filter", "interface-filter", "socket-filter", "kernel-control", "server", "Exit status:",
                "Example:", "kextnet new ip-filter udpdrop");
        assertThat(run("help").out()).containsPattern("(?m)^  new +Make a project for a new extension");
    }

    @Test void everyKindMakesACompleteProjectThatCompilesAgainstTheKpiAndTheTestKit() throws IOException {
        for (Kind k : Kind.values()) {
            Path p = dir.resolve(k.word);
            Run r = make(k.word, "my-" + k.word.replace("-", ""), "--dir", p.toString());
            assertThat(r.code()).as(r.err()).isZero();
            String name = "my-" + k.word.replace("-", "");
            String cls = "My" + Character.toUpperCase(k.word.replace("-", "").charAt(0)) + k.word.replace("-", "").substring(1);
            String pkg = "org/example/my" + k.word.replace("-", "");
            assertThat(r.out()).startsWith("made " + name + ", " + k.word + ", in " + p + ":\n")
                    .contains("  src/main/java/" + pkg + "/" + cls + ".java\n", "kextnet kl_util -a " + p.resolve("target/" + name + ".kern_server"));
            assertThat(r.err()).isEmpty();
            List<Path> files = files(p);
            assertThat(files).extracting(f -> p.relativize(f).toString()).containsExactlyInAnyOrder(
                    "pom.xml", "README.md", ".gitignore", ".mvn/maven.config",
                    "src/main/java/" + pkg + "/" + cls + ".java", "src/test/java/" + pkg + "/" + cls + "Test.java",
                    "src/main/kern_server/" + name + ".kern_server");
            for (Path f : files) assertThat(Files.readString(f)).as("%s", f).doesNotContain("{{");

            String pom = Files.readString(p.resolve("pom.xml"));
            assertThat(pom).contains("<artifactId>" + name + "</artifactId>", "<finalName>" + name + "</finalName>",
                    "<kextnet.repository>" + repo.toUri() + "</kextnet.repository>",
                    "<Kext-Server-Class>org.example.my" + k.word.replace("-", "") + "." + cls + "</Kext-Server-Class>",
                    "<Kext-Server-Version>${project.version}</Kext-Server-Version>",
                    "<Kextnet-KPI-Version>${kextnet.kpi.version}</Kextnet-KPI-Version>",
                    "<kextnet.kpi.version>" + org.kextnet.loader.link.KpiCompatibility.available() + "</kextnet.kpi.version>",
                    "<version>[25,)</version>", "Set JAVA_HOME to a JDK 25");
            assertThat(pom).doesNotContain("${project.parent", "<parent>");
            String script = Files.readString(p.resolve("src/main/kern_server/" + name + ".kern_server"));
            assertThat(script).contains("SERVER_NAME     " + name + "\n", "RELOC           " + name + ".jar\n");
            assertThat(Files.readString(p.resolve(".mvn/maven.config"))).isEqualTo("-Daether.offline.protocols=file\n");
            compile(p);
        }
    }

    /** Compiles the project's main and test sources with this JVM's class path (which has the KPI, the test kit, JUnit and AssertJ). */
    static void compile(Path project) throws IOException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diags = new DiagnosticCollector<>();
        try (StandardJavaFileManager fm = javac.getStandardFileManager(diags, null, null)) {
            List<Path> sources = files(project).stream().filter(f -> f.toString().endsWith(".java")).toList();
            Path out = Files.createDirectories(project.resolve("target/classes"));
            List<String> opts = List.of("--release", "25", "-Xlint:all", "-Werror", "-proc:none", "-d", out.toString(),
                    "-classpath", System.getProperty("java.class.path"));
            boolean ok = javac.getTask(null, fm, diags, opts, null, fm.getJavaFileObjectsFromPaths(sources)).call();
            assertThat(diags.getDiagnostics()).as("%s compiles without a warning", project).isEmpty();
            assertThat(ok).isTrue();
        }
    }

    static List<Path> files(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).filter(f -> !root.relativize(f).startsWith("target")).toList();
        }
    }

    @Test void theDefaultsAreNameDirectoryAndOrgExamplePackage() throws IOException {
        Path cwdLike = dir.resolve("work");
        Run r = make("ip-filter", "udp.drop", "--dir", cwdLike.resolve("udp.drop").toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(cwdLike.resolve("udp.drop/src/main/java/org/example/udpdrop/UdpDrop.java")).isRegularFile();
        Run other = make("kernel-control", "settings", "--dir", dir.resolve("s").toString(), "--package", "com.acme.net");
        assertThat(other.code()).as(other.err()).isZero();
        String src = Files.readString(dir.resolve("s/src/main/java/com/acme/net/Settings.java"));
        assertThat(src).startsWith("package com.acme.net;\n").contains("public final class Settings implements");
        assertThat(Files.readString(dir.resolve("s/pom.xml"))).contains("<groupId>com.acme.net</groupId>");
    }

    @Test void aNameThatWouldClashWithAnImportedTypeGetsASuffix() throws IOException {
        Run r = make("ip-filter", "kpi", "--dir", dir.resolve("kpi").toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(dir.resolve("kpi/src/main/java/org/example/kpi/KpiExtension.java")).isRegularFile();
        compile(dir.resolve("kpi"));
    }

    @Test void refusalsWriteNothing() throws IOException {
        Run kind = make("firewall", "x", "--dir", dir.resolve("a").toString());
        assertThat(kind.code()).isEqualTo(2);
        assertThat(kind.err()).startsWith("kextnet new: unknown KIND 'firewall': ip-filter, interface-filter, socket-filter, kernel-control, server");

        Run name = make("server", "9lives", "--dir", dir.resolve("a").toString());
        assertThat(name.code()).isEqualTo(2);
        assertThat(name.err()).startsWith("kextnet new: NAME '9lives': a letter, then letters, digits");

        Run pkg = make("server", "ok", "--dir", dir.resolve("a").toString(), "--package", "com.acme.class");
        assertThat(pkg.code()).isEqualTo(2);
        assertThat(pkg.err()).startsWith("kextnet new: --package: 'com.acme.class' is not a Java package name");
        assertThat(make("server", "ok", "--dir", dir.resolve("a").toString(), "--package", "org.kextnet.mine").err())
                .startsWith("kextnet new: --package: org.kextnet is kextnet's own package");
        assertThat(dir.resolve("a")).doesNotExist();

        Path full = Files.createDirectories(dir.resolve("full"));
        Files.writeString(full.resolve("keep.txt"), "mine");
        Run exists = make("server", "ok", "--dir", full.toString());
        assertThat(exists).isEqualTo(new Run(1, "", "new: " + full + " exists and is not an empty directory; nothing written\n"));
        assertThat(files(full)).containsExactly(full.resolve("keep.txt"));

        Run noRepo = run("new", "server", "ok", "--dir", dir.resolve("b").toString(), "--repository", dir.resolve("nowhere").toString());
        assertThat(noRepo.code()).isEqualTo(1);
        assertThat(noRepo.err()).startsWith("new: no kextnet repository at " + dir.resolve("nowhere") + " (it has no org/kextnet/kextnet-kpi/")
                .endsWith("build the distribution (./kextnet build) or name one with --repository; nothing written\n");
        assertThat(dir.resolve("b")).doesNotExist();
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).as("no half-made project left").noneMatch(n -> n.contains(".new-"));
        }
    }

    @Test void anEmptyDirectoryIsUsed() throws IOException {
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertThat(make("socket-filter", "udpcount", "--dir", empty.toString()).code()).isZero();
        assertThat(empty.resolve("pom.xml")).isRegularFile();
    }

    @Test void inABuildTreeTheRepositoryIsTheBuildsDistribution() {
        // This class runs from cli/target/test-classes, the command from cli/target/classes: its default is
        // cli/target/dist/repo, which the package phase fills (the launcher's is dist/repo beside dist/lib).
        Path expected = Path.of("target", "dist", "repo").toAbsolutePath().normalize();
        assertThat(ProjectKit.defaultRepository().toAbsolutePath().normalize()).isEqualTo(expected);
    }
}
