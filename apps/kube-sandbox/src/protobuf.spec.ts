import { Writer } from 'protobufjs';
import { decodeProtobuf } from './protobuf';

/** A length-delimited field holding a nested message. */
const msg = (w: Writer, no: number, build: (inner: Writer) => void) => {
  const inner = Writer.create();
  build(inner);
  w.uint32((no << 3) | 2).bytes(inner.finish());
};
const str = (w: Writer, no: number, s: string) => w.uint32((no << 3) | 2).string(s);
const envelope = (apiVersion: string, kind: string, raw: (w: Writer) => void) => {
  const w = Writer.create();
  msg(w, 1, (t) => { str(t, 1, apiVersion); str(t, 2, kind); });
  msg(w, 2, raw);
  return Buffer.concat([Buffer.from('k8s\0', 'binary'), Buffer.from(w.finish())]);
};

describe('decodeProtobuf', () => {
  it('decodes a Deployment as kubectl create deployment sends it, dropping Go zero values of non-pointer fields', () => {
    const body = envelope('apps/v1', 'Deployment', (d) => {
      msg(d, 1, (m) => { str(m, 1, 'web'); str(m, 3, ''); msg(m, 8, () => undefined); msg(m, 11, (e) => { str(e, 1, 'app'); str(e, 2, 'web'); }); });
      msg(d, 2, (s) => {
        s.uint32(1 << 3).int32(0);
        msg(s, 2, (sel) => msg(sel, 1, (e) => { str(e, 1, 'app'); str(e, 2, 'web'); }));
        msg(s, 3, (t) => msg(t, 2, (ps) => msg(ps, 2, (c) => {
          str(c, 1, 'nginx'); str(c, 2, 'nginx'); str(c, 5, '');
          msg(c, 8, (r) => msg(r, 1, (e) => { str(e, 1, 'cpu'); msg(e, 2, (q) => str(q, 1, '200m')); }));
        })));
        msg(s, 4, (st) => msg(st, 2, (ru) => msg(ru, 2, (i) => { i.uint32(1 << 3).int32(1); str(i, 3, '25%'); })));
      });
      msg(d, 3, (st) => st.uint32(1 << 3).int32(0));
    });
    expect(decodeProtobuf(body)).toEqual({
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        replicas: 0, selector: { matchLabels: { app: 'web' } },
        template: { spec: { containers: [{ name: 'nginx', image: 'nginx', resources: { limits: { cpu: '200m' } } }] } },
        strategy: { rollingUpdate: { maxSurge: '25%' } },
      },
    });
  });

  it('refuses kinds and non-empty fields it does not know with 415, and a body without the magic with 400', () => {
    expect(() => decodeProtobuf(envelope('v1', 'Secret', () => undefined))).toThrow(expect.objectContaining({ code: 415 }));
    expect(() => decodeProtobuf(envelope('apps/v1', 'Deployment', (d) => msg(d, 2, (s) => str(s, 99, 'x'))))).toThrow(expect.objectContaining({ code: 415, message: expect.stringContaining('field 99 of DeploymentSpec') }));
    expect(() => decodeProtobuf(Buffer.from('{}'))).toThrow(expect.objectContaining({ code: 400 }));
  });
});
