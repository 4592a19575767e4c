"""Chains: registry defaults, an RPC client with failover, verification, the watcher.

Everything here talks to EVM nodes. Payment state is written only by
``payments.proofs.services`` (the watcher calls it).
"""
