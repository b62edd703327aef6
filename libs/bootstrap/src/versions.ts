/*
 * The versions of everything a node is built from, in one place: the image, the container runtime, the Kubernetes
 * package repository and its version scheme, and crictl. The user-data (user-data.ts) and the cluster view
 * (api-gateway `GET /v1/clusters/{id}`, `software`) are computed from here and the cluster's `spec.kubernetesVersion`.
 */

/**
 * The image every node boots: Canonical's Ubuntu 24.04 LTS server image. The cloud adapters select it by the same
 * release (AWS: `ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-*`, GCP: family `ubuntu-2404-lts-amd64`, Azure:
 * `Canonical:ubuntu-24_04-lts:server:latest`, DigitalOcean: `ubuntu-24-04-x64`), always the newest build of it.
 */
export const NODE_IMAGE = { distribution: 'Ubuntu', release: '24.04', codename: 'noble', description: 'Ubuntu 24.04 LTS (noble)' } as const;

/** Where a node's containerd comes from. */
export interface ContainerdSource {
  /** The Debian package installed. */
  package: 'containerd' | 'containerd.io';
  /** The containerd release series the package gives (`MAJOR.MINOR`, or `MAJOR.x`). */
  series: string;
  /** Who builds the package: Ubuntu's archive, or Docker's apt repository. */
  origin: 'ubuntu' | 'docker';
  /** Docker's apt repository only: the `deb` line's URL and suite, and where its signing key is fetched from. */
  repository?: { url: string; suite: string; component: string; keyUrl: string; keyPath: string };
}

/**
 * Kubernetes v1.35 is the last minor that supports containerd 1.x (its release notes; the Kubernetes blog, "Kubernetes
 * v1.35: ... containerd 1.x"): from v1.36 the kubelet needs containerd 2.x.
 */
export const LAST_MINOR_WITH_CONTAINERD_1 = 35;

/**
 * Up to Kubernetes 1.35: Ubuntu's own `containerd` package (1.7 series in 24.04's archive). Chosen over Docker's
 * `containerd.io` because it needs no third-party apt repository or key, gets Ubuntu's security updates for the LTS's
 * life, and its packaged config does not disable the CRI plugin (containerd.io's does). Not pinned: Ubuntu's archive
 * keeps only the newest build of a package in each pocket, so a pinned build would stop installing at the next update.
 */
export const UBUNTU_CONTAINERD: ContainerdSource = { package: 'containerd', series: '1.7', origin: 'ubuntu' };

/**
 * From Kubernetes 1.36: Docker's `containerd.io` 2.x (Ubuntu 24.04's archive has no containerd 2), from Docker's apt
 * repository with its signing key, as Docker's "Install Docker Engine on Ubuntu" guide adds it; the version is held
 * to the series with an apt version pattern (`2.*`).
 */
export const DOCKER_CONTAINERD: ContainerdSource = {
  package: 'containerd.io', series: '2.x', origin: 'docker',
  repository: {
    url: 'https://download.docker.com/linux/ubuntu', suite: NODE_IMAGE.codename, component: 'stable',
    keyUrl: 'https://download.docker.com/linux/ubuntu/gpg', keyPath: '/etc/apt/keyrings/docker.asc',
  },
};

/**
 * The Kubernetes packages: the community repository pkgs.k8s.io, one repository per minor
 * (kubeadm's "Installing kubeadm, kubelet and kubectl", Debian-based distributions). Its Debian packages are versioned
 * `<MAJOR.MINOR.PATCH>-<revision>` with revision `1.1` (e.g. `1.36.4-1.1`, as `apt-cache madison kubeadm` lists them).
 */
export const KUBERNETES_PACKAGES = {
  /** `https://pkgs.k8s.io/core:/stable:/v<MAJOR.MINOR>/deb/` (a flat repository: suite `/`). */
  repositoryUrl: (minor: string) => `https://pkgs.k8s.io/core:/stable:/v${minor}/deb/`,
  /** The repository's signing key (`Release.key` at the repository's root), stored ASCII-armoured for `signed-by`. */
  keyPath: '/etc/apt/keyrings/kubernetes-apt-keyring.asc',
  /** pkgs.k8s.io's Debian revision of a release. */
  debRevision: '1.1',
  /** Installed at the cluster's version and held (`apt-mark hold`). */
  packages: ['kubelet', 'kubeadm', 'kubectl'] as const,
} as const;

/**
 * crictl: the `cri-tools` package of the same pkgs.k8s.io repository, which kubeadm depends on, so its minor follows
 * the cluster's; configured by /etc/crictl.yaml to containerd's socket.
 */
export const CRICTL = { package: 'cri-tools', configPath: '/etc/crictl.yaml', runtimeEndpoint: 'unix:///run/containerd/containerd.sock' } as const;

/** What a node of a cluster at one Kubernetes version is built from (see nodeSoftware). */
export interface NodeSoftware {
  /** The image, e.g. `Ubuntu 24.04 LTS (noble)`. */
  image: string;
  kubernetes: {
    /** `MAJOR.MINOR.PATCH`. */
    version: string;
    /** The pkgs.k8s.io repository of the minor. */
    repository: string;
    /** The Debian version kubelet, kubeadm and kubectl are pinned (and held) at, e.g. `1.36.4-1.1`. */
    packageVersion: string;
  };
  containerd: { package: string; series: string; origin: 'ubuntu' | 'docker'; cgroupDriver: 'systemd' };
  crictl: { package: string; series: string; runtimeEndpoint: string };
}

/**
 * The software of a node of a cluster at `kubernetesVersion`.
 * @param kubernetesVersion `MAJOR.MINOR.PATCH` (no `v`), a cluster's `spec.kubernetesVersion`.
 * @throws Error when it is not `MAJOR.MINOR.PATCH`.
 */
export function nodeSoftware(kubernetesVersion: string): NodeSoftware {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(kubernetesVersion);
  if (!m) throw new Error(`kubernetesVersion must be MAJOR.MINOR.PATCH: ${JSON.stringify(kubernetesVersion)}`);
  const minor = `${m[1]}.${m[2]}`;
  const containerd = Number(m[1]) === 1 && Number(m[2]) <= LAST_MINOR_WITH_CONTAINERD_1 ? UBUNTU_CONTAINERD : DOCKER_CONTAINERD;
  return {
    image: NODE_IMAGE.description,
    kubernetes: { version: kubernetesVersion, repository: KUBERNETES_PACKAGES.repositoryUrl(minor), packageVersion: `${kubernetesVersion}-${KUBERNETES_PACKAGES.debRevision}` },
    containerd: { package: containerd.package, series: containerd.series, origin: containerd.origin, cgroupDriver: 'systemd' },
    crictl: { package: CRICTL.package, series: minor, runtimeEndpoint: CRICTL.runtimeEndpoint },
  };
}

/** The containerd source of a cluster at `kubernetesVersion` (`MAJOR.MINOR.PATCH`); @throws Error as nodeSoftware. */
export function containerdSourceFor(kubernetesVersion: string): ContainerdSource {
  return nodeSoftware(kubernetesVersion).containerd.origin === 'ubuntu' ? UBUNTU_CONTAINERD : DOCKER_CONTAINERD;
}
