/**
 * The broker's configuration: the options classes (Vert.x data objects whose JSON converters Vert.x codegen writes
 * at compile time), the layered loader (flags, environment, file, defaults) and the shape check of a config file.
 */
@ModuleGen(name = "relay-broker-config", groupPackage = "dev.relaybroker.config")
package dev.relaybroker.config;

import io.vertx.codegen.annotations.ModuleGen;
