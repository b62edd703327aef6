import { endToEnd, serviceProxyTarget } from './service-proxy';
import { iniValue } from './stand-ins';

describe('service proxy paths and headers', () => {
  it('parses name, name:port and scheme:name:port, keeping the rest of the path as sent', () => {
    expect(serviceProxyTarget('/api/v1/namespaces/mon/services/grafana:3000/proxy/a/b%20c/')).toEqual({ namespace: 'mon', name: 'grafana', port: '3000', path: '/a/b%20c/' });
    expect(serviceProxyTarget('/api/v1/namespaces/mon/services/grafana/proxy')).toEqual({ namespace: 'mon', name: 'grafana', path: '/' });
    expect(serviceProxyTarget('/api/v1/namespaces/d/services/https:kubernetes-dashboard:/proxy/')).toEqual({ namespace: 'd', name: 'kubernetes-dashboard', scheme: 'https', path: '/' });
    expect(serviceProxyTarget('/api/v1/namespaces/d/services/x')).toBeUndefined();
    expect(serviceProxyTarget('/api/v1/namespaces/d/pods/x/proxy/')).toBeUndefined();
  });

  it('drops hop-by-hop headers and those Connection names', () => {
    expect(endToEnd({ connection: 'keep-alive, x-secret', 'keep-alive': 'timeout=5', 'x-secret': '1', te: 'trailers', 'transfer-encoding': 'chunked', upgrade: 'h2c', accept: 'text/html' }))
      .toEqual({ accept: 'text/html' });
  });

  it('reads grafana.ini values by section', () => {
    const ini = '[server]\nroot_url = http://x/sub/\n; comment\n[auth.proxy]\nenabled = true\nheader_name = X-WEBAUTH-USER\n';
    expect(iniValue(ini, 'server', 'root_url')).toBe('http://x/sub/');
    expect(iniValue(ini, 'auth.proxy', 'header_name')).toBe('X-WEBAUTH-USER');
    expect(iniValue(ini, 'auth', 'enabled')).toBeUndefined();
  });
});
