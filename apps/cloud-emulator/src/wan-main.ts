import { runWanRelay } from './core/wan';

/** Entry point of the sandbox's WAN relay, run inside a netns fabric's hub namespace: `wan-main.ts [port]`. */
runWanRelay(Number(process.argv[2] ?? 51820));
