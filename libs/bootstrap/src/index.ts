/*
 * Cluster bootstrap rendering, pure and without I/O (but agentPackagesFromEnv, which reads the agent package manifest): the cluster PKI (pki.ts), kubeadm configuration (kubeadm.ts),
 * the admin kubeconfig (kubeconfig.ts) and a VM's cloud-init user-data with its node-agent install script
 * (user-data.ts, install-script.ts, node-scripts.ts) with the versions it installs (versions.ts). api-gateway renders the first three, node-provisioner the user-data.
 *
 * node-provisioner imports `@skyweave/bootstrap/src/user-data` directly: this index also loads pki.ts, whose
 * @peculiar/x509 takes about 0.4 s to load, which a service that only renders user-data should not pay at start.
 */
export * from './kubernetes';
export * from './pki';
export * from './kubeadm';
export * from './kubeconfig';
export * from './bootstrap-tokens';
export * from './install-script';
export * from './node-scripts';
export * from './versions';
export * from './user-data';
export * from './agent-packages';
export * from './addons';
