package org.kextnet.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import org.kextnet.cli.ProjectKit.Kind;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code kextnet new KIND NAME}: makes a project for a new extension, which builds on its own with {@code mvn verify}
 * against the distribution's repository, with a passing test-kit test and its server script (docs/extensions.md).
 */
@Command(name = "new", mixinStandardHelpOptions = true,
        description = {"Make a project for a new extension: a pom that builds on its own (JDK 25) against this distribution's"
                + " Maven repository, the extension, a test on the test kit's embedded kernel, a server script and a README"
                + " (docs/extensions.md).",
                "KIND: ip-filter (drops UDP to one port, counts), interface-filter (counts frames per interface),"
                        + " socket-filter (counts UDP socket data, refuses sends to one port), kernel-control (settings"
                        + " applications set and read), server (a loadable server answering on its port).",
                "NAME: the server's name (SERVER_NAME; also its port, filter or control name, and the jar's): a letter, then"
                        + " letters, digits, '_', '.', '-'; at most 64. The class is NAME in upper camel case.",
                "Nothing is written when it fails (exit 1: the directory is not empty, no distribution repository, an I/O"
                        + " error; exit 2: a bad KIND, NAME or option)."},
        footer = {"", "Example:",
                "  kextnet new ip-filter udpdrop --dir ~/src/udpdrop",
                "  cd ~/src/udpdrop && JAVA_HOME=/path/to/jdk-25 mvn verify",
                "  kextnet kl_util -a ~/src/udpdrop/target/udpdrop.kern_server"})
public final class NewCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(index = "0", paramLabel = "KIND", description = "ip-filter, interface-filter, socket-filter, kernel-control or server.")
    String kind;

    @Parameters(index = "1", paramLabel = "NAME", description = "The extension's name, e.g. udpdrop.")
    String name;

    @Option(names = "--dir", paramLabel = "DIR", description = "Where to make it; absent or empty (default: ./NAME).")
    Path dir;

    @Option(names = "--package", paramLabel = "PACKAGE", description = "The Java package, also the groupId (default: org.example.NAME).")
    String javaPackage;

    @Option(names = "--repository", paramLabel = "DIR",
            description = "The kextnet distribution's Maven repository the pom names (default: repo/ of the distribution this"
                    + " command runs from, cli/target/dist/repo in a build tree).")
    Path repository;

    @Override public Integer call() {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        Kind k = Kind.of(kind);
        if (k == null) throw new ParameterException(spec.commandLine(), "unknown KIND '" + kind + "': " + Kind.words());
        if (!ProjectKit.NAME.matcher(name).matches()) {
            throw new ParameterException(spec.commandLine(), "NAME '" + name + "': a letter, then letters, digits, '_', '.', '-'; at most 64");
        }
        String pkg = javaPackage != null ? javaPackage : ProjectKit.Spec.defaultPackage(name);
        String bad = ProjectKit.checkPackage(pkg);
        if (bad != null) throw new ParameterException(spec.commandLine(), "--package: " + bad);
        Path repo = (repository != null ? repository : ProjectKit.defaultRepository()).toAbsolutePath().normalize();
        Path target = (dir != null ? dir : Path.of(name)).toAbsolutePath().normalize();
        try {
            if (!Files.isRegularFile(repo.resolve(ProjectKit.kpiJarPath()))) {
                return fail(err, "no kextnet repository at " + repo + " (it has no " + ProjectKit.kpiJarPath()
                        + "): build the distribution (./kextnet build) or name one with --repository");
            }
            if (Files.exists(target) && !emptyDirectory(target)) return fail(err, target + " exists and is not an empty directory");
            ProjectKit.Spec s = new ProjectKit.Spec(k, name, pkg, repo);
            List<String> files = ProjectKit.write(s, target);
            out.printf("made %s, %s, in %s:%n", name, k.word, target);
            for (String f : files) out.println("  " + f);
            out.println("build and test it:");
            out.printf("  cd %s && JAVA_HOME=%s mvn verify%n", target, System.getProperty("java.home"));
            out.println("load it, see it work, unload it (README.md):");
            out.printf("  kextnet kl_util -a %s%n", target.resolve("target").resolve(name + ".kern_server"));
            out.printf("  kextnet kl_util -d %s%n", name);
            Path tree = sourceTree(repo);
            if (tree != null && target.startsWith(tree)) {
                err.printf("new: note: %s is inside kextnet's source tree, whose launcher rebuilds kextnet when a source file"
                        + " in it changes; a directory outside it is better%n", target);
            }
            out.flush();
            err.flush();
            return 0;
        } catch (IOException e) {
            return fail(err, "cannot write " + target + ": " + e);
        }
    }

    private static int fail(PrintWriter err, String message) {
        err.println("new: " + message + "; nothing written");
        err.flush();
        return 1;
    }

    private static boolean emptyDirectory(Path p) throws IOException {
        if (!Files.isDirectory(p)) return false;
        try (Stream<Path> s = Files.list(p)) {
            return s.findAny().isEmpty();
        }
    }

    /** The source tree whose build made {@code repo} ({@code ROOT/cli/target/dist/repo}), or null. */
    private static Path sourceTree(Path repo) {
        Path root = repo;
        for (int i = 0; i < 4 && root != null; i++) root = root.getParent();
        return root != null && Files.isRegularFile(root.resolve("kextnet")) && Files.isRegularFile(root.resolve("pom.xml")) ? root : null;
    }
}
