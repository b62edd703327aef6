import { regionImages } from './catalog';
import { Params } from './params';
import { readBlockDeviceMappings } from './volumes';

const image = regionImages('us-east-1').find((i) => i.rootDeviceName === '/dev/sda1') ?? regionImages('us-east-1')[0];
const read = (q: Record<string, string>) => readBlockDeviceMappings(Params.fromEntries(Object.entries(q)), image);
const code = (q: Record<string, string>): string | undefined => {
  try {
    read(q);
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

describe('readBlockDeviceMappings', () => {
  it("gives the image's root device by default: 8 GiB gp3, 3000 IOPS, 125 MiB/s, deleted on termination", () => {
    expect(read({})).toEqual([{ deviceName: '/dev/sda1', sizeGiB: 8, type: 'gp3', iops: 3000, throughput: 125, encrypted: false, deleteOnTermination: true, snapshotId: image.snapshotId }]);
  });

  it('resizes the root and adds EBS volumes; instance-store and NoDevice entries make nothing', () => {
    const out = read({
      'BlockDeviceMapping.1.DeviceName': '/dev/sda1', 'BlockDeviceMapping.1.Ebs.VolumeSize': '40', 'BlockDeviceMapping.1.Ebs.VolumeType': 'gp2',
      'BlockDeviceMapping.2.DeviceName': '/dev/sdf', 'BlockDeviceMapping.2.Ebs.VolumeSize': '100', 'BlockDeviceMapping.2.Ebs.VolumeType': 'io2', 'BlockDeviceMapping.2.Ebs.Iops': '5000', 'BlockDeviceMapping.2.Ebs.DeleteOnTermination': 'false',
      'BlockDeviceMapping.3.DeviceName': '/dev/sdb', 'BlockDeviceMapping.3.VirtualName': 'ephemeral0',
    });
    expect(out.map((v) => [v.deviceName, v.sizeGiB, v.type, v.iops, v.deleteOnTermination])).toEqual([['/dev/sda1', 40, 'gp2', 120, true], ['/dev/sdf', 100, 'io2', 5000, false]]);
  });

  it('validates like EC2', () => {
    const root = (ebs: Record<string, string>) => Object.fromEntries([['BlockDeviceMapping.1.DeviceName', '/dev/sda1'], ...Object.entries(ebs).map(([k, v]) => [`BlockDeviceMapping.1.Ebs.${k}`, v])]);
    expect(code(root({ VolumeSize: '4' }))).toBe('InvalidBlockDeviceMapping');
    expect(code(root({ VolumeSize: '20000' }))).toBe('InvalidParameterValue');
    expect(code(root({ VolumeType: 'gp9' }))).toBe('InvalidParameterValue');
    expect(code(root({ VolumeType: 'gp2', Iops: '3000' }))).toBe('InvalidParameterCombination');
    expect(code(root({ VolumeType: 'gp2', Throughput: '200' }))).toBe('InvalidParameterCombination');
    expect(code(root({ VolumeType: 'io1' }))).toBe('MissingParameter');
    expect(code(root({ VolumeType: 'gp3', Iops: '20000' }))).toBe('InvalidParameterValue');
    expect(code(root({ VolumeType: 'gp3', Throughput: '1000' }))).toBe('InvalidParameterValue');
    expect(code(root({ VolumeType: 'sc1', VolumeSize: '500' }))).toBe('InvalidBlockDeviceMapping');
    expect(code(root({ SnapshotId: 'snap-0123456789abcdef0' }))).toBe('InvalidSnapshot.NotFound');
    expect(code({ 'BlockDeviceMapping.1.DeviceName': 'disk0', 'BlockDeviceMapping.1.Ebs.VolumeSize': '10' })).toBe('InvalidBlockDeviceMapping');
    expect(code({ 'BlockDeviceMapping.1.DeviceName': '/dev/sdf', 'BlockDeviceMapping.1.Ebs.VolumeSize': '10', 'BlockDeviceMapping.2.DeviceName': '/dev/sdf', 'BlockDeviceMapping.2.Ebs.VolumeSize': '10' })).toBe('InvalidBlockDeviceMapping');
    expect(code({ 'BlockDeviceMapping.1.DeviceName': '/dev/sdf', 'BlockDeviceMapping.1.Ebs.VolumeType': 'gp3' })).toBe('MissingParameter');
    expect(code({ 'BlockDeviceMapping.1.DeviceName': '/dev/sdf', 'BlockDeviceMapping.1.Ebs.Colour': 'red' })).toBe('UnknownParameter');
  });
});
