package org.kextnet.loader.rpc;

import org.kextnet.loader.LoaderError;
import org.kextnet.loader.LoaderException;

/** Bytes that are not a valid frame or body (122 RPC_MALFORMED). */
public final class RpcFormatException extends LoaderException {
    public RpcFormatException(String message) {
        super(LoaderError.RPC_MALFORMED, message);
    }
}
