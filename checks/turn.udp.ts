import { turnReachCheck } from './_lib/turn-reach.js';

export default turnReachCheck('udp');
