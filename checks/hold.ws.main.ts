import { holdWsCheck } from './_lib/hold.js';

export default holdWsCheck('main');
