import { wsRoleCheck } from './_lib/ws-role.js';

export default wsRoleCheck('preview');
