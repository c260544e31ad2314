import { tlsHostCheck } from './_lib/tls-host.js';

export default tlsHostCheck('sandbox');
