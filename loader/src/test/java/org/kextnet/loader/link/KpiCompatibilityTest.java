package org.kextnet.loader.link;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.kextnet.loader.LoaderException;
import org.kextnet.loader.link.KpiCompatibility.Version;

class KpiCompatibilityTest {
    static final Path JAR = Path.of("/srv/x.jar");
    static final Version KPI_1_2 = new Version(1, 2);

    @Test void versionsAreMajorDotMinor() {
        assertThat(Version.parse("1.2")).isEqualTo(KPI_1_2);
        assertThat(Version.parse(" 10.0 ")).isEqualTo(new Version(10, 0));
        for (String bad : new String[] {"", "1", "1.", ".2", "1.2.3", "1.x", "v1.2", "-1.2", "1.2-SNAPSHOT", "1234567.0"}) {
            assertThat(Version.parse(bad)).as(bad).isNull();
        }
        assertThat(KPI_1_2).hasToString("1.2");
    }

    @Test void theSameMajorWithAtMostTheOfferedMinorRuns() {
        assertThat(KPI_1_2.offers(new Version(1, 0))).isTrue();
        assertThat(KPI_1_2.offers(new Version(1, 2))).isTrue();
        assertThat(KPI_1_2.offers(new Version(1, 3))).isFalse();
        assertThat(KPI_1_2.offers(new Version(2, 0))).isFalse();
        assertThat(KPI_1_2.offers(new Version(0, 9))).isFalse();
    }

    @Test void aJarWithoutTheKeyPasses() {
        assertThatCode(() -> KpiCompatibility.check(JAR, null, KPI_1_2)).doesNotThrowAnyException();
        assertThatCode(() -> KpiCompatibility.check(JAR, "1.1", KPI_1_2)).doesNotThrowAnyException();
    }

    @Test void refusalsNameTheJarAndBothVersions() {
        assertThatThrownBy(() -> KpiCompatibility.check(JAR, "1.3", KPI_1_2)).isInstanceOfSatisfying(LoaderException.class, e -> {
            assertThat(e.code()).isEqualTo(108);
            assertThat(e).hasToString("/srv/x.jar: built against KPI 1.3, this kernel offers KPI 1.2 (a newer minor version); "
                    + "rebuild it against KPI 1.2: kern_loader error 108 (server won't link)");
        });
        assertThatThrownBy(() -> KpiCompatibility.check(JAR, "2.0", KPI_1_2)).isInstanceOfSatisfying(LoaderException.class, e ->
                assertThat(e.getMessage()).isEqualTo("/srv/x.jar: built against KPI 2.0, this kernel offers KPI 1.2 (another major version); "
                        + "rebuild it against KPI 1.2"));
        assertThatThrownBy(() -> KpiCompatibility.check(JAR, "1.2.0", KPI_1_2)).isInstanceOfSatisfying(LoaderException.class, e -> {
            assertThat(e.code()).isEqualTo(111);
            assertThat(e.getMessage()).isEqualTo("/srv/x.jar: manifest has Kextnet-KPI-Version '1.2.0', not a KPI version (major.minor)");
        });
    }
}
