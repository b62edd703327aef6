import { Controller, Get } from '@nestjs/common';
import { Public } from './access';
import { ApiTags } from '@nestjs/swagger';
import { CLOUDS, MAX_CROSS_CLOUD_LATENCY_MS, REGIONS } from '@skyweave/domain';

@ApiTags('regions')
@Public()
@Controller('v1/regions')
export class RegionsController {
  /** The region catalogue: each Skyweave region with its region and zone per cloud (seed 004, "Region & zone"). */
  @Get()
  list() {
    return {
      items: REGIONS.map((r) => ({
        id: r.id, name: r.name, crossCloudLatencyMs: r.crossCloudLatencyMs, clouds: r.clouds,
        availableOn: CLOUDS.filter((c) => r.clouds[c]),
      })),
      maxCrossCloudLatencyMs: MAX_CROSS_CLOUD_LATENCY_MS,
    };
  }
}
