/**
 * What a broker's session is, whoever reads it: the session itself ({@link dev.relaybroker.session.Session}), the
 * one snapshot every surface serves ({@link dev.relaybroker.session.SessionSnapshot}) with its state and presence,
 * and the one typed failure ({@link dev.relaybroker.session.BrokerFailure}, {@link dev.relaybroker.session.FailureCause}).
 * Plain values: no Vert.x, no transport. The event bus carries them ({@code bus}); the cloud client makes the
 * failures ({@code cloud}); the broker's life decides them ({@code identity}).
 */
package dev.relaybroker.session;
