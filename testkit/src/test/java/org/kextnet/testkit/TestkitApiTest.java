package org.kextnet.testkit;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaMember;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.domain.JavaType;
import com.tngtech.archunit.core.domain.JavaTypeVariable;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import org.junit.jupiter.api.Test;
import org.kextnet.testkit.fixture.Leaky;

/**
 * The test kit is for extensions, which compile against the KPI alone: what it exports (every public or protected
 * member of a public class, the class's supertypes and type parameters) names only KPI types, JDK types and the
 * test kit's own. Its implementation may use the kernel (it wraps the kernel's harness); its signatures may not.
 */
class TestkitApiTest {
    private static final List<String> ALLOWED = List.of("java.", "org.kextnet.kpi.", "org.kextnet.testkit.");

    static final ArchRule EXPOSES_ONLY_KPI_JDK_AND_ITS_OWN_TYPES = classes().that().resideInAPackage("org.kextnet.testkit..")
            .should(new ArchCondition<>("expose only KPI, JDK and test kit types in their public signatures") {
                @Override public void check(JavaClass c, ConditionEvents events) {
                    if (!exported(c)) return;
                    for (String v : violations(c)) events.add(SimpleConditionEvent.violated(c, v));
                }
            });

    /** Public, and so are the classes it is nested in. */
    private static boolean exported(JavaClass c) {
        for (JavaClass k = c; k != null; k = k.getEnclosingClass().orElse(null)) {
            if (!k.getModifiers().contains(JavaModifier.PUBLIC)) return false;
        }
        return true;
    }

    private static boolean visible(JavaMember m) {
        return m.getModifiers().contains(JavaModifier.PUBLIC) || m.getModifiers().contains(JavaModifier.PROTECTED);
    }

    private static List<String> violations(JavaClass c) {
        List<String> out = new ArrayList<>();
        Set<JavaType> supertypes = new LinkedHashSet<>(c.getInterfaces());
        c.getSuperclass().ifPresent(supertypes::add);
        for (JavaType t : supertypes) check(c.getName() + " extends/implements", t.getAllInvolvedRawTypes(), out);
        for (JavaTypeVariable<JavaClass> v : c.getTypeParameters()) check(c.getName() + " type parameter", v.getAllInvolvedRawTypes(), out);
        for (JavaField f : c.getFields()) {
            if (visible(f)) check(f.getFullName(), f.getType().getAllInvolvedRawTypes(), out);
        }
        for (JavaCodeUnit u : c.getCodeUnits()) {
            if (!visible(u)) continue;
            check(u.getFullName(), u.getAllInvolvedRawTypes(), out);
            check(u.getFullName() + " throws", new LinkedHashSet<>(u.getThrowsClause().getTypes()), out);
        }
        return out;
    }

    private static void check(String where, Set<JavaClass> types, List<String> out) {
        for (JavaClass t : types) {
            JavaClass base = t.getBaseComponentType();
            if (base.isPrimitive() || ALLOWED.stream().anyMatch(p -> base.getName().startsWith(p))) continue;
            out.add(where + " exposes " + base.getName());
        }
    }

    @Test void theTestkitExposesOnlyKpiJdkAndItsOwnTypes() {
        EXPOSES_ONLY_KPI_JDK_AND_ITS_OWN_TYPES.check(new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages("org.kextnet.testkit"));
    }

    /** The rule catches each way a kernel type can leak, and only those. */
    @Test void theRuleSeesKernelTypesInEveryPartOfASignature() {
        List<String> details = EXPOSES_ONLY_KPI_JDK_AND_ITS_OWN_TYPES.evaluate(new ClassFileImporter()
                .importPackages(Leaky.class.getPackageName())).getFailureReport().getDetails();
        Set<String> exposed = new TreeSet<>();
        for (String d : details) exposed.add(d.replace(Leaky.class.getName(), "Leaky"));
        assertThat(exposed).containsExactlyInAnyOrder(
                "Leaky.packet exposes org.kextnet.kernel.buf.Packet",
                "Leaky.<init>(org.kextnet.kernel.net.Interface) exposes org.kextnet.kernel.net.Interface",
                "Leaky.kernel() exposes org.kextnet.kernel.Kernel",
                "Leaky.count(java.util.List) exposes org.kextnet.kernel.stat.Stat",
                "Leaky.fail() throws exposes org.kextnet.kernel.socket.SocketError",
                "Leaky.clock(org.kextnet.kernel.sync.Clock) exposes org.kextnet.kernel.sync.Clock",
                "Leaky$Ticking extends/implements exposes org.kextnet.kernel.sync.Clock");
    }
}
