import { ADDON_IMAGES, ADDON_SERVICES, addonManifests, grafanaIni, GRAFANA_USER_HEADER } from './addons';

describe('cluster add-on manifests', () => {
  const id = '3f1c6a2e-1111-4222-8333-444455556666';

  it('configures Grafana for its auth proxy under the gateway path', () => {
    const ini = grafanaIni({ clusterId: id, publicUrl: 'https://skyweave.example.com/' });
    expect(ini).toContain(`root_url = https://skyweave.example.com/clusters/${id}/grafana/`);
    expect(ini).toContain('serve_from_sub_path = true');
    const proxy = ini.split('[auth.proxy]')[1].split('\n[')[0];
    expect(proxy).toMatch(/enabled = true/);
    expect(proxy).toContain(`header_name = ${GRAFANA_USER_HEADER}`);
    expect(proxy).toMatch(/auto_sign_up = true/);
    // the header is believed from the nodes' mesh addresses only, never from the pod range
    expect(proxy).toContain('whitelist = 10.4.0.0/16');
    expect(ini).toMatch(/\[auth\]\ndisable_login_form = true/);
    // without a public URL Grafana's own host guess is kept, the path still the gateway's
    expect(grafanaIni({ clusterId: id })).toContain(`root_url = %(protocol)s://%(domain)s/clusters/${id}/grafana/`);
  });

  it('pins every image and makes one Deployment and Service per add-on, Prometheus as Grafana\'s data source', () => {
    const objs = addonManifests({ clusterId: id });
    const images = objs.filter((o) => o.kind === 'Deployment').flatMap((d) => ((d.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers).map((c) => c.image));
    expect(images.sort()).toEqual(Object.values(ADDON_IMAGES).sort());
    for (const image of images) expect(image).toMatch(/:[v0-9][0-9.]+$/); // a version, never `latest`
    for (const [, s] of Object.entries(ADDON_SERVICES)) {
      const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === s.service && o.metadata.namespace === s.namespace);
      expect((svc?.spec as { ports: { port: number }[] }).ports[0].port).toBe(s.port);
    }
    const ds = objs.find((o) => o.metadata.name === 'grafana-datasources')?.data as Record<string, string>;
    expect(ds['datasources.yaml']).toContain('url: http://prometheus.skyweave-monitoring.svc:9090');
    // namespaces first, so that every namespaced object can be applied in order
    expect(objs.slice(0, 2).map((o) => o.kind)).toEqual(['Namespace', 'Namespace']);
    expect(addonManifests({ clusterId: id })).toEqual(objs);
    for (const o of objs) expect(o.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('skyweave');
  });
});
