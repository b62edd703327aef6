import { forwardedHeaders, returnedHeaders, upstreamPath } from './sso-proxy';

describe('single sign-on proxy: headers and paths', () => {
  const id = '3f1c6a2e-1111-4222-8333-444455556666';

  it('forwards the user as X-WEBAUTH-USER, never their credentials, made-up identity headers or hop-by-hop headers', () => {
    const out = forwardedHeaders({
      cookie: 'skyweave_session=s', authorization: 'Bearer swk_x', 'x-csrf-token': 't', 'x-skyweave-organisation': 'o',
      'x-webauth-user': 'admin', 'x-webauth-email': 'root@example.com', 'x-forwarded-for': '1.2.3.4',
      connection: 'keep-alive, x-private', 'x-private': '1', 'keep-alive': 'timeout=5', te: 'trailers', upgrade: 'websocket', 'transfer-encoding': 'chunked',
      accept: 'text/html', 'content-type': 'application/json', 'content-length': '2',
    }, 'alice@example.com');
    expect(out).toEqual({ accept: 'text/html', 'content-type': 'application/json', 'content-length': '2', 'x-webauth-user': 'alice@example.com' });
  });

  it('drops hop-by-hop headers of the answer, and keeps the rest', () => {
    expect(returnedHeaders({ connection: 'close, x-a', 'x-a': '1', 'transfer-encoding': 'chunked', 'content-type': 'text/html', 'set-cookie': ['grafana_session=1'] }))
      .toEqual({ 'content-type': 'text/html', 'set-cookie': ['grafana_session=1'] });
  });

  it('maps gateway paths onto the service proxy: Grafana keeps its sub path, the dashboard is served at its root', () => {
    expect(upstreamPath('grafana', id, `/clusters/${id}/grafana/api/user?x=a%20b`)).toBe(`/api/v1/namespaces/skyweave-monitoring/services/grafana:3000/proxy/clusters/${id}/grafana/api/user?x=a%20b`);
    expect(upstreamPath('dashboard', id, `/clusters/${id}/dashboard/`)).toBe('/api/v1/namespaces/kubernetes-dashboard/services/kubernetes-dashboard:9090/proxy/');
    expect(upstreamPath('dashboard', id, `/clusters/${id}/dashboard`)).toBe('/api/v1/namespaces/kubernetes-dashboard/services/kubernetes-dashboard:9090/proxy/');
    expect(upstreamPath('dashboard', id, `/clusters/${id}/dashboard/api/v1/pod?a=1`)).toBe('/api/v1/namespaces/kubernetes-dashboard/services/kubernetes-dashboard:9090/proxy/api/v1/pod?a=1');
  });

  it('refuses dot segments and encoded slashes, and paths of another cluster', () => {
    for (const p of ['/dashboard/../x', '/dashboard/%2e%2E/x', '/dashboard/a%2Fb', '/dashboard/a%5cb', '/dashboard/%zz', '/grafana/./x']) {
      expect(upstreamPath(p.startsWith('/grafana') ? 'grafana' : 'dashboard', id, `/clusters/${id}${p}`)).toBeUndefined();
    }
    expect(upstreamPath('grafana', id, '/clusters/other/grafana/')).toBeUndefined();
  });
});
