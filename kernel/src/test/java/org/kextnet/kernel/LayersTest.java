package org.kextnet.kernel;

import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import java.util.Arrays;
import java.util.List;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.library.Architectures.LayeredArchitecture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The kernel's layers, bottom up, as docs/architecture.md draws them: a class may use classes of its own layer
 * and of the layers below it, never of a layer above. The build fails on the first import that goes up.
 */
class LayersTest {
    /** Bottom to top; each entry is a layer's name and its packages (relative to org.kextnet.kernel, "" the root). */
    static final List<String[]> LAYERS = List.of(
            new String[] {"wire", "wire"},
            new String[] {"buf", "buf"},
            new String[] {"stat", "stat"},
            new String[] {"sync", "sync"},
            new String[] {"hook", "hook"},
            new String[] {"event", "event"},
            new String[] {"net", "net"},
            new String[] {"protocol", "protocol"},
            new String[] {"link", "link.."},
            new String[] {"neighbor", "neighbor"},
            new String[] {"socket", "socket"},
            new String[] {"inet", "inet.."},
            new String[] {"control", "control", "domain"},
            new String[] {"nke", "nke"},
            new String[] {"kernel", ""},
            new String[] {"config", "config"},
            new String[] {"embed", "embed"});

    private static JavaClasses classes;

    @BeforeAll static void load() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("org.kextnet.kernel");
    }

    @Test void noLayerImportsALayerAboveIt() {
        LayeredArchitecture arch = layeredArchitecture().consideringOnlyDependenciesInLayers();
        for (String[] l : LAYERS) {
            String[] packages = Arrays.stream(l, 1, l.length)
                    .map(p -> p.isEmpty() ? "org.kextnet.kernel" : "org.kextnet.kernel." + p).toArray(String[]::new);
            arch = arch.layer(l[0]).definedBy(packages);
        }
        for (int i = 0; i < LAYERS.size() - 1; i++) {
            String[] above = LAYERS.subList(i + 1, LAYERS.size()).stream().map(l -> l[0]).toArray(String[]::new);
            arch = arch.whereLayer(LAYERS.get(i)[0]).mayOnlyBeAccessedByLayers(above);
        }
        arch = arch.whereLayer(LAYERS.getLast()[0]).mayNotBeAccessedByAnyLayer();
        arch.check(classes);
    }

    @Test void noPackagesFormACycle() {
        slices().matching("org.kextnet.kernel.(*)..").should().beFreeOfCycles().check(classes);
    }
}
