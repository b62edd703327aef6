// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import {
  AuthorityKeyIdentifierExtension, BasicConstraintsExtension, ExtendedKeyUsage, ExtendedKeyUsageExtension, Extension, KeyUsageFlags, KeyUsagesExtension,
  Name, SubjectAlternativeNameExtension, SubjectKeyIdentifierExtension, X509Certificate as PeculiarCertificate, X509CertificateGenerator,
} from '@peculiar/x509';
import { X509Certificate, createHash, createPrivateKey, createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import * as ipaddr from 'ipaddr.js';
import { ADDRESS_PLAN } from '@skyweave/domain';
import { DNS_DOMAIN } from './kubernetes';

/*
 * The cluster PKI, laid out as kubeadm's (source: kubeadm "PKI certificates and requirements",
 * https://kubernetes.io/docs/setup/best-practices/certificates/, and kubeadm's cmd/kubeadm/app/phases/certs):
 * three CAs (cluster, front-proxy, etcd), the service-account key pair, the API server serving certificate, and an
 * admin client certificate for the kubeconfig. Everything is ECDSA P-256 signed with SHA-256, matching
 * `encryptionAlgorithm: ECDSA-P256` in the ClusterConfiguration, so the certificates kubeadm makes itself from these CAs
 * use the same algorithm. PEM everywhere: certificates `CERTIFICATE`, private keys SEC1 `EC PRIVATE KEY` (what kubeadm
 * writes for ECDSA keys), the service-account public key `PUBLIC KEY` (SPKI).
 */

const SIGN = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const subtle = webcrypto.subtle;
const DAY_MS = 24 * 3600 * 1000;
const YEAR_MS = 365 * DAY_MS;
/** kubeadm back-dates certificates by 5 minutes (constants.CertificateBackdate) so a node whose clock lags accepts them. */
const BACKDATE_MS = 5 * 60 * 1000;
/** An API server certificate with less than this left is re-issued rather than handed out again. */
const RENEW_BEFORE_MS = 30 * DAY_MS;

/** A certificate and its private key, PEM. */
export interface CertificateAndKey {
  certificate: string;
  key: string;
}

/**
 * The public part of the control-plane PKI beyond the CA and admin certificate: the `clusters.pki` column (jsonb).
 * PEM strings. `apiServerCertificate` is absent until master-0 is told to initialise (see {@link issueApiServerCertificate}).
 */
export interface ClusterPkiPublic {
  frontProxyCaCertificate: string;
  etcdCaCertificate: string;
  /** SPKI PEM (`PUBLIC KEY`), kubeadm's `sa.pub`. */
  serviceAccountPublicKey: string;
  apiServerCertificate?: string;
}

/**
 * The private part of the control-plane PKI, the kubeadm bootstrap token and certificate key: the plaintext of the
 * `clusters.pkiSealed` column (sealed JSON, see {@link sealPkiSecrets}). Keys are SEC1 PEM.
 */
export interface ClusterPkiSecrets {
  frontProxyCaKey: string;
  etcdCaKey: string;
  /** kubeadm's `sa.key`, which signs service-account tokens (ES256). */
  serviceAccountKey: string;
  /** Present with {@link ClusterPkiPublic.apiServerCertificate}. */
  apiServerKey?: string;
  /** kubeadm bootstrap token, `[a-z0-9]{6}.[a-z0-9]{16}` (see {@link newBootstrapToken}). */
  bootstrapToken: string;
  /** kubeadm certificate key for `--upload-certs`: 32 random bytes as 64 hex characters (see {@link newCertificateKey}). */
  certificateKey: string;
}

/** Everything made at cluster creation: the columns `caCertificate`, `adminCertificate`, `pki` in the clear, the rest sealed. */
export interface ClusterPki {
  caCertificate: string;
  caKey: string;
  adminCertificate: string;
  adminKey: string;
  public: ClusterPkiPublic;
  secrets: ClusterPkiSecrets;
}

/** Subject alternative names for the API server serving certificate. */
export interface ApiServerSans {
  dnsNames: string[];
  /** Dotted quads (or IPv6 text). */
  ipAddresses: string[];
}

/**
 * Generates a cluster's PKI at creation time, ECDSA P-256 / SHA-256 (about 10 ms):
 * - CA: CN `kubernetes`, 10 years (kubeadm's `ca.crt`);
 * - front-proxy CA: CN `front-proxy-ca`, 10 years; etcd CA: CN `etcd-ca`, 10 years;
 * - service-account key pair;
 * - admin client certificate: CN `kubernetes-admin`, O `system:masters`, clientAuth, 1 year, signed by the CA;
 * - a bootstrap token and a certificate key for kubeadm.
 * The API server serving certificate is not made here: it names master-0's addresses, known later
 * ({@link issueApiServerCertificate}). Source: kubeadm's certificate list, https://kubernetes.io/docs/setup/best-practices/certificates/.
 * @param now start of validity (back-dated 5 minutes as kubeadm does).
 */
export async function generateClusterPki(now = new Date()): Promise<ClusterPki> {
  const [ca, frontProxyCa, etcdCa] = await Promise.all([newCa('kubernetes', now), newCa('front-proxy-ca', now), newCa('etcd-ca', now)]);
  const sa = await newKeyPair();
  const adminKeys = await newKeyPair();
  const admin = await issueLeaf({
    subject: new Name([{ CN: ['kubernetes-admin'] }, { O: ['system:masters'] }]), publicKey: adminKeys.publicKey, issuer: ca, now, usages: [ExtendedKeyUsage.clientAuth],
  });
  return {
    caCertificate: pem(ca.certificate), caKey: await privateKeyPem(ca.keys.privateKey),
    adminCertificate: pem(admin), adminKey: await privateKeyPem(adminKeys.privateKey),
    public: {
      frontProxyCaCertificate: pem(frontProxyCa.certificate), etcdCaCertificate: pem(etcdCa.certificate), serviceAccountPublicKey: await publicKeyPem(sa.publicKey),
    },
    secrets: {
      frontProxyCaKey: await privateKeyPem(frontProxyCa.keys.privateKey), etcdCaKey: await privateKeyPem(etcdCa.keys.privateKey),
      serviceAccountKey: await privateKeyPem(sa.privateKey), bootstrapToken: newBootstrapToken(), certificateKey: newCertificateKey(),
    },
  };
}

/**
 * The SANs of the API server serving certificate, as kubeadm computes them (certs.GetAPIServerAltNames) plus ours:
 * DNS `kubernetes`, `kubernetes.default`, `kubernetes.default.svc`, `kubernetes.default.svc.cluster.local` and the
 * node name; IPs: the first address of the service subnet (`10.96.0.1`), every master's overlay address (which
 * includes the advertise address) and `extraIps` (master-0's private and public IPs when known; null and undefined are
 * skipped); `extraDnsNames` after the node name (the control-plane endpoint's host, `CONTROL_PLANE_HOST`, which kubeadm
 * adds from `controlPlaneEndpoint`). Duplicates removed, order kept.
 */
export function apiServerSans(o: { nodeName: string; masterAddresses: readonly (string | null | undefined)[]; extraIps?: readonly (string | null | undefined)[]; extraDnsNames?: readonly string[]; serviceSubnet?: string }): ApiServerSans {
  const present = (xs: readonly (string | null | undefined)[]) => xs.filter((x): x is string => !!x);
  return {
    dnsNames: unique(['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', `kubernetes.default.svc.${DNS_DOMAIN}`, o.nodeName, ...(o.extraDnsNames ?? [])]),
    ipAddresses: unique([firstServiceIp(o.serviceSubnet ?? ADDRESS_PLAN.serviceSubnet), ...present(o.masterAddresses), ...present(o.extraIps ?? [])].map((ip) => ipaddr.parse(ip).toString())),
  };
}

/**
 * Issues the API server serving certificate (kubeadm's `apiserver.crt`): CN `kube-apiserver`, serverAuth, 1 year,
 * signed by the cluster CA, with `sans` (see {@link apiServerSans}).
 * @param ca the cluster CA certificate and its private key, PEM.
 * @throws Error when an address in `sans` is not an IP address, or the CA key does not parse.
 */
export async function issueApiServerCertificate(ca: CertificateAndKey, sans: ApiServerSans, now = new Date()): Promise<CertificateAndKey> {
  const issuer = { certificate: new PeculiarCertificate(ca.certificate), keys: { privateKey: await importPrivateKey(ca.key) } };
  const keys = await newKeyPair();
  const cert = await issueLeaf({
    subject: new Name([{ CN: ['kube-apiserver'] }]), publicKey: keys.publicKey, issuer, now, usages: [ExtendedKeyUsage.serverAuth],
    extra: [new SubjectAlternativeNameExtension([...sans.dnsNames.map((value) => ({ type: 'dns' as const, value })), ...sans.ipAddresses.map((value) => ({ type: 'ip' as const, value }))])],
  });
  return { certificate: pem(cert), key: await privateKeyPem(keys.privateKey) };
}

/**
 * Issues a client certificate signed by the cluster CA (clientAuth, 1 year, back-dated 5 minutes), for one
 * Kubernetes user: the API server takes the subject CN as the user name and each O as a group ("Authenticating",
 * X509 client certificates, https://kubernetes.io/docs/reference/access-authn-authz/authentication/). kubeadm makes
 * `admin.conf` (CN `kubernetes-admin`, O `system:masters`) and `kubelet.conf` (CN `system:node:<name>`, O
 * `system:nodes`) this way; the platform's watcher has its own user.
 * @param ca the cluster CA certificate and its private key, PEM.
 * @param subject `commonName` (the user) and `organizations` (groups, may be empty).
 * @returns certificate and SEC1 private key, PEM. @throws Error when the CA key does not parse.
 */
export async function issueClientCertificate(ca: CertificateAndKey, subject: { commonName: string; organizations?: readonly string[] }, now = new Date()): Promise<CertificateAndKey> {
  const issuer = { certificate: new PeculiarCertificate(ca.certificate), keys: { privateKey: await importPrivateKey(ca.key) } };
  const keys = await newKeyPair();
  const cert = await issueLeaf({
    subject: new Name([{ CN: [subject.commonName] }, ...(subject.organizations?.length ? [{ O: [...subject.organizations] }] : [])]),
    publicKey: keys.publicKey, issuer, now, usages: [ExtendedKeyUsage.clientAuth],
  });
  return { certificate: pem(cert), key: await privateKeyPem(keys.privateKey) };
}

/**
 * Whether an API server certificate can be handed out again: issued by `caCertificate`, valid at `now` for at least
 * 30 more days, and naming every DNS name and IP of `sans` (it may name more). A certificate that fails this is
 * re-issued, e.g. when master-0's public IP became known after the first `/join`.
 */
export function apiServerCertificateFits(certificate: string, caCertificate: string, sans: ApiServerSans, now = new Date()): boolean {
  const cert = new X509Certificate(certificate);
  const ca = new X509Certificate(caCertificate);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
  if (new Date(cert.validFrom).getTime() > now.getTime() || new Date(cert.validTo).getTime() - now.getTime() < RENEW_BEFORE_MS) return false;
  return sans.dnsNames.every((d) => cert.checkHost(d, { wildcards: false }) === d) && sans.ipAddresses.every((ip) => cert.checkIP(ip) === ip);
}

/**
 * kubeadm's CA pin for `discovery.bootstrapToken.caCertHashes` / `--discovery-token-ca-cert-hash`: `sha256:` and the
 * lowercase hex SHA-256 of the CA certificate's DER SubjectPublicKeyInfo (RFC 7469 style; source: `kubeadm join`
 * reference). Same as `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum`.
 * @param caCertificate PEM. @throws Error when it does not parse.
 */
export function caCertHash(caCertificate: string): string {
  const spki = new X509Certificate(caCertificate).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

const TOKEN_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A kubeadm bootstrap token `<id>.<secret>`, `[a-z0-9]{6}\.[a-z0-9]{16}` (source: kubeadm's bootstraptoken API and
 * the bootstrap-token authenticator), from the OS CSPRNG without modulo bias.
 */
export function newBootstrapToken(): string {
  return `${randomChars(6)}.${randomChars(16)}`;
}

/** A kubeadm certificate key (`--certificate-key`, `certificateKey`): an AES-256 key, 64 lowercase hex characters. */
export function newCertificateKey(): string {
  return randomBytes(32).toString('hex');
}

/**
 * The first host address of a service subnet, which Kubernetes gives the `kubernetes` service (kubeadm's
 * "internal API server virtual IP"): `10.96.0.0/12` → `10.96.0.1`.
 * @throws Error when `cidr` is not an IPv4 CIDR or has no host addresses (/31, /32).
 */
export function firstServiceIp(cidr: string): string {
  const [addr, prefix] = ipaddr.IPv4.parseCIDR(cidr);
  if (prefix > 30) throw new Error(`service subnet ${cidr} has no room for the kubernetes service address`);
  const network = ipaddr.IPv4.networkAddressFromCIDR(`${addr.toString()}/${prefix}`).toByteArray();
  const n = (network.reduce((a, b) => a * 256 + b, 0) + 1) >>> 0;
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The `clusters.pki` column for a public document (drops absent fields). */
export function toPkiColumn(doc: ClusterPkiPublic): Record<string, string> {
  return Object.fromEntries(Object.entries(doc).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** Reads the `clusters.pki` column. @throws Error when a required field is missing (a cluster made before this PKI existed). */
export function fromPkiColumn(column: Record<string, string> | null): ClusterPkiPublic {
  const need = (k: keyof ClusterPkiPublic) => {
    const v = column?.[k];
    if (typeof v !== 'string' || !v) throw new Error(`cluster PKI: ${k} missing`);
    return v;
  };
  return {
    frontProxyCaCertificate: need('frontProxyCaCertificate'), etcdCaCertificate: need('etcdCaCertificate'), serviceAccountPublicKey: need('serviceAccountPublicKey'),
    ...(column?.apiServerCertificate ? { apiServerCertificate: column.apiServerCertificate } : {}),
  };
}

/**
 * What seals secrets at rest: `seal` returns an opaque envelope, `open` returns the plaintext or throws. The
 * platform's is persistence's SecretBox (AES-256-GCM under a data key wrapped by the master key); this library names
 * only the shape, so it does not depend on the data layer.
 */
export interface Sealer {
  seal(plaintext: string): string;
  /** @throws Error when the envelope does not open (wrong key, tampered). */
  open(sealed: string): string;
}

/** Seals the private document for the `clusters.pkiSealed` column with `box` (the platform's SecretBox). */
export function sealPkiSecrets(box: Sealer, doc: ClusterPkiSecrets): string {
  return box.seal(JSON.stringify(doc));
}

/** Opens the `clusters.pkiSealed` column. @throws Error when it does not open (wrong master key, tampered) or a field is missing. */
export function openPkiSecrets(box: Sealer, sealed: string): ClusterPkiSecrets {
  const doc = JSON.parse(box.open(sealed)) as Partial<Record<keyof ClusterPkiSecrets, unknown>>;
  const need = (k: keyof ClusterPkiSecrets) => {
    const v = doc[k];
    if (typeof v !== 'string' || !v) throw new Error(`cluster PKI secrets: ${k} missing`);
    return v;
  };
  return {
    frontProxyCaKey: need('frontProxyCaKey'), etcdCaKey: need('etcdCaKey'), serviceAccountKey: need('serviceAccountKey'),
    bootstrapToken: need('bootstrapToken'), certificateKey: need('certificateKey'),
    ...(typeof doc.apiServerKey === 'string' ? { apiServerKey: doc.apiServerKey } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------------------

type KeyPair = webcrypto.CryptoKeyPair;
interface Issuer { certificate: PeculiarCertificate; keys: { privateKey: webcrypto.CryptoKey } }

function newKeyPair(): Promise<KeyPair> {
  return subtle.generateKey(SIGN, true, ['sign', 'verify']);
}

/** A self-signed CA like kubeadm's (pkiutil.NewSelfSignedCACert): CA:TRUE critical, keyCertSign, 10 years. */
async function newCa(commonName: string, now: Date): Promise<{ certificate: PeculiarCertificate; keys: KeyPair }> {
  const keys = await newKeyPair();
  const certificate = await X509CertificateGenerator.createSelfSigned({
    name: new Name([{ CN: [commonName] }]), keys, signingAlgorithm: SIGN,
    notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + 10 * YEAR_MS),
    extensions: [
      new BasicConstraintsExtension(true, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
      await SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificate, keys };
}

/**
 * An end-entity certificate signed by `issuer`, 1 year from `now` (kubeadm's default), digitalSignature, with `usages`
 * as EKU. Validity starts 5 minutes before `now`, and never later than 5 minutes before the host's wall clock: a
 * caller whose clock runs ahead (a test's moved clock, SKYWEAVE_CLOCK_OFFSET_SECONDS) still makes a certificate that
 * TLS peers on the wall clock accept at once.
 */
async function issueLeaf(o: { subject: Name; publicKey: webcrypto.CryptoKey; issuer: Issuer; now: Date; usages: ExtendedKeyUsage[]; extra?: Extension[] }): Promise<PeculiarCertificate> {
  const ski = o.issuer.certificate.getExtension(SubjectKeyIdentifierExtension);
  return X509CertificateGenerator.create({
    subject: o.subject, issuer: o.issuer.certificate.subjectName, publicKey: o.publicKey, signingKey: o.issuer.keys.privateKey, signingAlgorithm: SIGN,
    notBefore: new Date(Math.min(o.now.getTime(), Date.now()) - BACKDATE_MS), notAfter: new Date(o.now.getTime() + YEAR_MS),
    extensions: [
      new BasicConstraintsExtension(false, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
      new ExtendedKeyUsageExtension(o.usages),
      ...(ski ? [new AuthorityKeyIdentifierExtension(ski.keyId)] : []),
      ...(o.extra ?? []),
    ],
  });
}

const pem = (c: PeculiarCertificate) => `${c.toString('pem').replace(/\r\n/g, '\n').trimEnd()}\n`;

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'sec1' }).toString();
}

async function publicKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey('spki', key));
  return createPublicKey({ key: der, format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }).toString();
}

/** Imports a P-256 private key (SEC1 or PKCS#8 PEM) for signing. */
function importPrivateKey(keyPem: string): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(keyPem).export({ format: 'der', type: 'pkcs8' });
  return subtle.importKey('pkcs8', der, SIGN, false, ['sign']);
}

function randomChars(n: number): string {
  let out = '';
  while (out.length < n) {
    for (const b of randomBytes(n * 2)) {
      // 252 = 7 × 36: bytes above it would favour the first letters.
      if (b < 252 && out.length < n) out += TOKEN_ALPHABET[b % 36];
    }
  }
  return out;
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}
