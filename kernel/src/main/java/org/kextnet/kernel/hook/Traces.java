package org.kextnet.kernel.hook;

import java.util.Arrays;

/**
 * Stack traces a developer can read: a fault's (or a stuck thread's) frames cut to what happened inside the
 * extension and the head that called it, without the kernel's frames below.
 */
public final class Traces {
    private static final String KERNEL = "org.kextnet.kernel.";

    private Traces() {}

    /**
     * The frames of {@code trace} down to the head that called the extension: below the outermost frame of
     * {@code targetClass} (the extension's callback object, or its nested and lambda classes), one more frame,
     * the head's. Without a target frame, down to the first kernel frame under the extension's frames; else whole.
     */
    public static StackTraceElement[] trim(StackTraceElement[] trace, String targetClass) {
        if (trace == null || trace.length == 0) return new StackTraceElement[0];
        int cut = -1;
        if (targetClass != null) {
            for (int i = trace.length - 1; i >= 0; i--) {
                String c = trace[i].getClassName();
                if (c.equals(targetClass) || c.startsWith(targetClass + "$")) {
                    cut = i + 1;
                    break;
                }
            }
        }
        if (cut < 0) {
            boolean outside = false;
            for (int i = 0; i < trace.length; i++) {
                String c = trace[i].getClassName();
                boolean kernel = c.startsWith(KERNEL);
                if (!kernel && !isJdk(c)) outside = true;
                else if (kernel && outside) {
                    cut = i;
                    break;
                }
            }
        }
        if (cut < 0 || cut >= trace.length) return trace.clone();
        return Arrays.copyOf(trace, cut + 1);
    }

    private static boolean isJdk(String c) {
        return c.startsWith("java.") || c.startsWith("jdk.") || c.startsWith("sun.") || c.startsWith("org.kextnet.kpi.");
    }

    /** The frames as a stack trace prints them, one "\n\tat FRAME" each. */
    public static String format(StackTraceElement[] frames) {
        StringBuilder b = new StringBuilder();
        for (StackTraceElement f : frames) b.append("\n\tat ").append(f);
        return b.toString();
    }

    /** {@code t} and its trimmed frames, with its causes' headlines, as one string for a log line. */
    public static String describe(Throwable t, String targetClass) {
        StringBuilder b = new StringBuilder(String.valueOf(t));
        b.append(format(trim(t.getStackTrace(), targetClass)));
        Throwable c = t.getCause();
        for (int depth = 0; c != null && depth < 5; c = c.getCause(), depth++) {
            b.append("\nCaused by: ").append(c).append(format(trim(c.getStackTrace(), targetClass)));
        }
        return b.toString();
    }
}
