/**
 * The proxy of the suites that cut or freeze one connection of many, under its first name: it is
 * `FaultProxy` (a link's `freeze` is its `blackHole`), kept so those suites read as they did.
 */
import * as FaultProxy from "./FaultProxy.ts"

/** One relayed connection. */
export type Relayed = FaultProxy.Link

/** A running proxy. */
export type CutProxy = FaultProxy.FaultProxy

/** Starts a proxy to 127.0.0.1:`upstream` for the life of the scope. */
export const make = FaultProxy.make
