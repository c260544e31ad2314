import { dnsNameCheck } from './_lib/dns-name.js';

export default dnsNameCheck('preview');
