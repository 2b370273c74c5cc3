package org.kextnet.loader.link;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.kextnet.kpi.Kpi;
import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;

/**
 * Whether a server jar may run on the KPI this kernel offers. The jar's manifest names the KPI version it was built
 * against ({@value #MANIFEST_KEY}, {@code major.minor}); the KPI states its own in its jar's manifest and in
 * {@code org/kextnet/kpi/kpi-version.properties}, which is read here. A minor version adds to the KPI and a major
 * one changes it, so a jar loads when it needs the same major and at most the offered minor, and is refused with
 * 108 (SERVER_WONT_LINK) otherwise, before any of its code runs; a value that is not a version is 111
 * (BAD_RELOCATABLE). A jar without the key (built before the KPI was versioned) loads, as it always did.
 */
public final class KpiCompatibility {
    /** The manifest attribute with the KPI version a jar was built against (the KPI jar's own states the KPI's). */
    public static final String MANIFEST_KEY = "Kextnet-KPI-Version";

    private static final Pattern VERSION = Pattern.compile("(\\d{1,6})\\.(\\d{1,6})");
    private static final Version AVAILABLE = readAvailable();

    private KpiCompatibility() {}

    /** A KPI version, {@code major.minor}. */
    public record Version(int major, int minor) {
        /** The version {@code text} names, or null if it is not {@code major.minor} in decimal digits. */
        public static Version parse(String text) {
            Matcher m = VERSION.matcher(text.strip());
            return m.matches() ? new Version(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))) : null;
        }

        /** Whether an extension built against {@code required} may run on this version. */
        public boolean offers(Version required) {
            return required.major == major && required.minor <= minor;
        }

        @Override public String toString() { return major + "." + minor; }
    }

    /** The version of the KPI on this class path. */
    public static Version available() { return AVAILABLE; }

    /**
     * Checks the KPI version {@code jar}'s manifest states (null when it has no {@value #MANIFEST_KEY}) against the
     * available one.
     * @throws LoaderException 108 if the jar needs a newer minor or another major, 111 if the value is not a version
     */
    public static void check(Path jar, String required) throws LoaderException {
        check(jar, required, AVAILABLE);
    }

    static void check(Path jar, String required, Version available) throws LoaderException {
        if (required == null) return;
        Version v = Version.parse(required);
        if (v == null) {
            throw new LoaderException(LoaderError.BAD_RELOCATABLE, jar + ": manifest has " + MANIFEST_KEY + " '" + required
                    + "', not a KPI version (major.minor)");
        }
        if (!available.offers(v)) {
            String why = v.major != available.major ? "another major version" : "a newer minor version";
            throw new LoaderException(LoaderError.SERVER_WONT_LINK, jar + ": built against KPI " + v + ", this kernel offers KPI "
                    + available + " (" + why + "); rebuild it against KPI " + available);
        }
    }

    private static Version readAvailable() {
        try (InputStream in = Kpi.class.getResourceAsStream("kpi-version.properties")) {
            if (in == null) throw new IllegalStateException("the KPI on the class path has no kpi-version.properties");
            Properties p = new Properties();
            p.load(in);
            Version v = Version.parse(p.getProperty("kpi.version", ""));
            if (v == null) throw new IllegalStateException("the KPI's kpi-version.properties has no kpi.version major.minor");
            return v;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
