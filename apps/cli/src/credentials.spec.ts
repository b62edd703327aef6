import { awsFromProfile, azureFromServicePrincipal, digitalOceanToken, gcpFromKeyFile, parseIni } from './credentials';
import { CliError, ExitCode } from './errors';

const AWS_FILE = `# written by aws configure
[default]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY

[prod]
aws_access_key_id=AKIAI44QH8DHBEXAMPLE
aws_secret_access_key=je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY
region = eu-west-1

[profile legacy]
aws_access_key_id = AKIAJJJJJJJJJJJJJJJJ
aws_secret_access_key = 0123456789012345678901234567890123456789

[temp]
aws_access_key_id = ASIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
aws_session_token = FwoGZXIvYXdzEBYaDH
`;

const GCP_KEY = {
  type: 'service_account', project_id: 'skyweave-prod', private_key_id: 'abc123',
  private_key: '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n', client_email: 'sw@skyweave-prod.iam.gserviceaccount.com',
  client_id: '1234567890', auth_uri: 'https://accounts.google.com/o/oauth2/auth', token_uri: 'https://oauth2.googleapis.com/token',
  auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs', client_x509_cert_url: 'https://www.googleapis.com/robot/v1/metadata/x509/sw', universe_domain: 'googleapis.com',
};

const failure = (fn: () => unknown): CliError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof CliError) return e;
    throw e;
  }
  throw new Error('expected a CliError');
};

describe('credential formats users already have', () => {
  it('parses INI sections, comments and spacing around =', () => {
    const s = parseIni(AWS_FILE);
    expect([...s.keys()]).toEqual(['default', 'prod', 'profile legacy', 'temp']);
    expect(s.get('prod')?.region).toBe('eu-west-1');
  });

  it('reads an AWS profile of ~/.aws/credentials', () => {
    expect(awsFromProfile(AWS_FILE, 'default')).toEqual({ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' });
    expect(awsFromProfile(AWS_FILE, 'prod').accessKeyId).toBe('AKIAI44QH8DHBEXAMPLE');
    expect(awsFromProfile(AWS_FILE, 'legacy').accessKeyId).toBe('AKIAJJJJJJJJJJJJJJJJ');
  });

  it('names a missing profile and the ones there are; refuses temporary credentials; never shows a secret', () => {
    const e = failure(() => awsFromProfile(AWS_FILE, 'staging', '/home/u/.aws/credentials'));
    expect(e.message).toBe('/home/u/.aws/credentials has no profile [staging] (profiles: default, prod, profile legacy, temp)');
    expect(failure(() => awsFromProfile(AWS_FILE, 'temp')).message).toMatch(/temporary credentials \(aws_session_token\)/);
    expect(failure(() => awsFromProfile('[x]\naws_access_key_id = AKIA\n', 'x')).message).toMatch(/needs aws_access_key_id and aws_secret_access_key/);
    expect(failure(() => awsFromProfile(AWS_FILE, 'temp')).message).not.toMatch(/wJalr/);
  });

  it('takes a GCP key file\'s fields the API accepts and leaves the others out', () => {
    expect(gcpFromKeyFile(JSON.stringify(GCP_KEY))).toEqual({
      type: 'service_account', project_id: 'skyweave-prod', private_key_id: 'abc123', private_key: GCP_KEY.private_key,
      client_email: GCP_KEY.client_email, client_id: '1234567890', token_uri: 'https://oauth2.googleapis.com/token',
    });
  });

  it('refuses what is not a service-account key', () => {
    expect(failure(() => gcpFromKeyFile('{"type":"authorized_user","client_id":"x"}', 'adc.json')).message).toBe('adc.json is not a service-account key (its "type" is "authorized_user", not "service_account")');
    expect(failure(() => gcpFromKeyFile('{"type":"service_account","project_id":"p"}', 'k.json')).message).toBe('k.json lacks private_key_id, private_key, client_email');
    expect(failure(() => gcpFromKeyFile('not json', 'k.json')).message).toMatch(/^k\.json is not JSON/);
  });

  it('maps `az ad sp create-for-rbac` output, with the subscription from the flag', () => {
    const sp = JSON.stringify({ appId: '11111111-1111-1111-1111-111111111111', displayName: 'skyweave', password: 's3cret~', tenant: '22222222-2222-2222-2222-222222222222' });
    expect(azureFromServicePrincipal(sp, '33333333-3333-3333-3333-333333333333')).toEqual({
      clientId: '11111111-1111-1111-1111-111111111111', clientSecret: 's3cret~', tenantId: '22222222-2222-2222-2222-222222222222', subscriptionId: '33333333-3333-3333-3333-333333333333',
    });
    const e = failure(() => azureFromServicePrincipal(sp, undefined));
    expect(e.exitCode).toBe(ExitCode.Usage);
    expect(e.message).toMatch(/--subscription <id>/);
  });

  it('maps the --sdk-auth form (subscription inside) and names missing fields', () => {
    const sdk = JSON.stringify({ clientId: 'c', clientSecret: 's', subscriptionId: 'sub', tenantId: 't', activeDirectoryEndpointUrl: 'https://login.microsoftonline.com' });
    expect(azureFromServicePrincipal(sdk, undefined)).toEqual({ clientId: 'c', clientSecret: 's', tenantId: 't', subscriptionId: 'sub' });
    expect(failure(() => azureFromServicePrincipal('{"appId":"a"}', 'sub', 'sp.json')).message).toBe('sp.json lacks password, tenant (expected the output of `az ad sp create-for-rbac`)');
  });

  it('takes a DigitalOcean token from the environment, else doctl\'s config', () => {
    expect(digitalOceanToken({ DIGITALOCEAN_TOKEN: 'dop_v1_abc\n' })).toEqual({ token: 'dop_v1_abc' });
    expect(digitalOceanToken({ DIGITALOCEAN_ACCESS_TOKEN: 'dop_v1_doctl' })).toEqual({ token: 'dop_v1_doctl' });
    expect(digitalOceanToken({}, 'access-token: dop_v1_file\ncontext: default\n')).toEqual({ token: 'dop_v1_file' });
    expect(failure(() => digitalOceanToken({})).message).toMatch(/set DIGITALOCEAN_TOKEN/);
  });
});
