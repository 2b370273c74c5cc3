package org.kextnet.loader;

/** A kern_loader operation failed with a kern_loader code; the message says what and where. */
public class LoaderException extends Exception {
    private final int code;

    public LoaderException(LoaderError error, String message) {
        this(error.code(), message, null);
    }

    public LoaderException(LoaderError error, String message, Throwable cause) {
        this(error.code(), message, cause);
    }

    /** With a raw code, as received from a daemon that may be newer than this client. */
    public LoaderException(int code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    /** The error, or null for a code this version does not know. */
    public LoaderError error() { return LoaderError.of(code); }

    public int code() { return code; }

    /** "message: kern_loader error 108 (server won't link)". */
    @Override public String toString() {
        return getMessage() + ": " + LoaderError.describe(code);
    }
}
