/**
 * Internal to relay-broker: may change in any release. The public API for embedding applications is
 * {@link dev.relaybroker.RelayBroker}, {@link dev.relaybroker.bus.SessionClient} and the types they hand out
 * (packages {@code dev.relaybroker.bus} and {@code dev.relaybroker.session}), and the options classes of {@code dev.relaybroker.config}.
 */
@ModuleGen(name = "relay-broker-emulator", groupPackage = "dev.relaybroker.emulator")
package dev.relaybroker.emulator;

import io.vertx.codegen.annotations.ModuleGen;
