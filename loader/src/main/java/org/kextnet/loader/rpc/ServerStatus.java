package org.kextnet.loader.rpc;

import java.io.IOException;
import java.util.List;

import org.kextnet.loader.LoaderException;
import org.kextnet.loader.ServerInfo;

/** The read-only requests behind {@code kl_util -s} and {@code -k}, which both clients make. */
public interface ServerStatus {
    /** Every server not deallocated, with its full info (LIST). */
    List<ServerInfo> list() throws IOException, LoaderException;

    /** One server's info (INFO); 102 if there is none of that name. */
    ServerInfo info(String name) throws IOException, LoaderException;
}
