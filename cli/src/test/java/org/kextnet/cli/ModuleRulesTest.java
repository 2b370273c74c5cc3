package org.kextnet.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The rules between the project's modules (the kernel's own layers are held by its LayersTest): the KPI knows no
 * implementation, the kernel knows no loader or command, and the example extensions know nothing but the KPI and
 * the JDK, as any extension compiled against the KPI alone. This module sees every other on its class path.
 */
class ModuleRulesTest {
    private static JavaClasses classes;

    @BeforeAll static void load() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("org.kextnet");
    }

    @Test void everyModuleIsOnTheClassPath() {
        for (String c : new String[] {"org.kextnet.kpi.Kpi", "org.kextnet.kernel.Kernel", "org.kextnet.loader.KernLoader",
                "org.kextnet.testkit.EmbeddedKernel", "org.kextnet.examples.ipcount.IpCounter", "org.kextnet.examples.echo.EchoServer",
                "org.kextnet.examples.tcplog.TcpLog", "org.kextnet.examples.netem.Netem",
                "org.kextnet.examples.enetlog.EnetLog", "org.kextnet.examples.firewall.Firewall",
                "org.kextnet.examples.capture.Capture", "org.kextnet.examples.tunnel.Tunnel"}) {
            assertThat(classes.contain(c)).as(c).isTrue();
        }
    }

    @Test void theKpiKnowsNoImplementation() {
        noClasses().that().resideInAPackage("org.kextnet.kpi..")
                .should().dependOnClassesThat().resideOutsideOfPackages("org.kextnet.kpi..", "java..")
                .check(classes);
    }

    @Test void theKernelKnowsNoLoaderNoTestkitAndNoCommand() {
        noClasses().that().resideInAPackage("org.kextnet.kernel..")
                .should().dependOnClassesThat().resideInAnyPackage("org.kextnet.loader..", "org.kextnet.cli..",
                        "org.kextnet.testkit..", "org.kextnet.examples..")
                .check(classes);
    }

    @Test void theLoaderKnowsNoCommand() {
        noClasses().that().resideInAPackage("org.kextnet.loader..")
                .should().dependOnClassesThat().resideInAnyPackage("org.kextnet.cli..", "org.kextnet.examples..")
                .check(classes);
    }

    @Test void examplesKnowOnlyTheKpiAndTheJdk() {
        noClasses().that().resideInAPackage("org.kextnet.examples..")
                .should().dependOnClassesThat().resideOutsideOfPackages("org.kextnet.kpi..", "org.kextnet.examples..", "java..")
                .check(classes);
    }
}
