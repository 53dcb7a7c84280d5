import type { paths } from '../api/schema';

/** The response and body types of the admin endpoints (from the generated schema). */
type Json<T> = T extends { content: { 'application/json': infer J } } ? J : never;
type Body<T> = T extends { requestBody?: { content: { 'application/json': infer J } } } ? J : never;

export type AdminCategory = Json<paths['/api/v1/categories/{id}']['get']['responses'][200]>;
export type CategoryCreate = Body<paths['/api/v1/categories']['post']>;
export type AttributeDef = AdminCategory['translations']['attributes'][number];
export type Community = Json<paths['/api/v1/communities']['get']['responses'][200]>['items'][number];
export type CommunityCreate = Body<paths['/api/v1/communities']['post']>;
export type Boundary = CommunityCreate['boundary'];
export type AdminUser = Json<paths['/api/v1/admin/users']['get']['responses'][200]>['items'][number];
export type Authority = Json<paths['/api/v1/authorities']['get']['responses'][200]>['items'][number];
export type DeadForward = Json<paths['/api/v1/admin/forwarding/dead']['get']['responses'][200]>['items'][number];
export type Webhook = Json<paths['/api/v1/admin/webhooks']['get']['responses'][200]>['items'][number];
export type Open311Key = Json<paths['/api/v1/admin/open311/keys']['get']['responses'][200]>['items'][number];
export type AuditRecord = Json<paths['/api/v1/admin/audit']['get']['responses'][200]>['items'][number];
