import { holdWaitCheck } from './_lib/wait.js';

export default holdWaitCheck('main');
