package org.kextnet.kpi.socketfilter;

/** Socket events given to {@link SocketFilter#notify} ({@code sflt_event_t}). */
public final class SocketEvent {
    private SocketEvent() {}

    public static final int CONNECTING = 1, CONNECTED = 2, DISCONNECTING = 3, DISCONNECTED = 4, FLUSH_READ = 5,
            SHUTDOWN = 6, CANTRECVMORE = 7, CANTSENDMORE = 8, CLOSING = 9, BOUND = 10;

    public static String name(int event) {
        return switch (event) {
            case CONNECTING -> "connecting"; case CONNECTED -> "connected"; case DISCONNECTING -> "disconnecting";
            case DISCONNECTED -> "disconnected"; case FLUSH_READ -> "flush-read"; case SHUTDOWN -> "shutdown";
            case CANTRECVMORE -> "cantrecvmore"; case CANTSENDMORE -> "cantsendmore"; case CLOSING -> "closing";
            case BOUND -> "bound";
            default -> Integer.toString(event);
        };
    }
}
