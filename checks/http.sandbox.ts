import { httpRoleCheck } from './_lib/http-role.js';

export default httpRoleCheck('sandbox');
