package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kextnet.loader.link.KpiCompatibility;
import org.kextnet.loader.link.KpiCompatibility.Version;

/**
 * kern_loader reads the KPI version a server jar was built against ({@code Kextnet-KPI-Version}) when it reads the
 * jar, at allocation and again when a changed jar is loaded: a jar that needs a newer minor or another major is
 * refused with 108 and a message naming the jar and both versions, and nothing changes; a jar without the key loads.
 */
class KpiVersionTest {
    @TempDir Path dir;
    final KernLoader loader = new KernLoader(LoaderOptions.defaults().withTimeouts(1_000, 500));
    final Version kpi = KpiCompatibility.available();

    @AfterEach void close() {
        loader.close();
    }

    /** {@code dir/v.jar}, the Linky server, whose manifest says it was built against {@code kpiVersion} (none if null). */
    Path jar(String kpiVersion) throws IOException {
        Manifest mf = new Manifest();
        Attributes a = mf.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Kext-Server-Class", "t.Linky");
        a.putValue("Kext-Server-Version", "1");
        if (kpiVersion != null) a.putValue(KpiCompatibility.MANIFEST_KEY, kpiVersion);
        Path jar = dir.resolve("v.jar");
        FileTime before = Files.exists(jar) ? Files.getLastModifiedTime(jar) : null;
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), mf)) {
            for (Map.Entry<String, byte[]> e : TestJars.compile(Map.of("t.Linky", Servers.LINKY)).entrySet()) {
                out.putNextEntry(new JarEntry(e.getKey().replace('.', '/') + ".class"));
                out.write(e.getValue());
                out.closeEntry();
            }
        }
        if (before != null) Files.setLastModifiedTime(jar, FileTime.fromMillis(before.toMillis() + 2000)); // seen as changed
        return jar;
    }

    Path script() throws IOException {
        return TestJars.script(dir, "v.kern_server", Servers.script("v", "v.jar", "good", ""));
    }

    void refused(Path jar, int code, String... fragments) {
        assertThatThrownBy(() -> loader.add(script())).isInstanceOfSatisfying(LoaderException.class, e -> {
            assertThat(e.code()).as(e.toString()).isEqualTo(code);
            assertThat(e.getMessage()).startsWith(jar.toString()).contains(fragments);
        });
        assertThat(loader.list()).as("a refused server leaves nothing behind").isEmpty();
        assertThat(loader.names().lookup("v")).isNull();
    }

    @Test void theKpiStatesItsVersion() {
        assertThat(kpi.major()).isPositive();
        assertThat(kpi.minor()).isNotNegative();
    }

    @Test void aJarBuiltAgainstThisKpiOrAnOlderMinorOrWithoutTheKeyLoads() throws Exception {
        for (String v : new String[] {kpi.toString(), kpi.major() + ".0", null}) {
            jar(v);
            loader.add(script());
            assertThat(Ports.send(loader, "v", 0, new byte[0]).status()).as("built against %s", v).isZero();
            assertThat(loader.info("v").state()).isEqualTo(ServerState.LOADED);
            loader.delete("v");
        }
    }

    @Test void aJarBuiltAgainstANewerMinorOrAnotherMajorIsRefused() throws Exception {
        String newer = kpi.major() + "." + (kpi.minor() + 1);
        refused(jar(newer), 108, "built against KPI " + newer, "this kernel offers KPI " + kpi, "a newer minor version");
        String nextMajor = (kpi.major() + 1) + ".0";
        refused(jar(nextMajor), 108, "built against KPI " + nextMajor, "another major version");
        if (kpi.major() > 1) refused(jar((kpi.major() - 1) + ".0"), 108, "another major version");
        refused(jar("1.x"), 111, "Kextnet-KPI-Version '1.x', not a KPI version");
    }

    @Test void aChangedJarThatNeedsANewerKpiFailsItsLoadAndFaultsTheServer() throws Exception {
        jar(kpi.toString());
        loader.add(script());
        loader.load("v");
        loader.unload("v");
        String newer = kpi.major() + "." + (kpi.minor() + 1);
        Path jar = jar(newer);
        assertThatThrownBy(() -> loader.load("v")).isInstanceOfSatisfying(LoaderException.class, e -> {
            assertThat(e.code()).as(e.toString()).isEqualTo(108);
            assertThat(e.getMessage()).contains(jar + ": built against KPI " + newer + ", this kernel offers KPI " + kpi);
        });
        assertThat(loader.info("v").state()).isEqualTo(ServerState.FAULTED);
        assertThat(loader.info("v").fault()).contains("built against KPI " + newer);
    }
}
