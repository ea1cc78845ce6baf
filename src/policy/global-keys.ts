// The global condition keys AWS documents (every service's requests may carry them), for the
// validator's check of `aws:` keys: an unknown one is a warning with the nearest known key, as
// IAM Access Analyzer's policy checks do. Keys ending in `/` take a tag key after them.
export const GLOBAL_CONDITION_KEYS: readonly string[] = [
  'aws:AssumedRoot', 'aws:CalledVia', 'aws:CalledViaFirst', 'aws:CalledViaLast', 'aws:ChatbotSourceArn',
  'aws:CurrentTime', 'aws:Ec2InstanceSourcePrivateIPv4', 'aws:Ec2InstanceSourceVpc', 'aws:EpochTime',
  'aws:FederatedProvider', 'aws:IsMcpServiceAction', 'aws:MultiFactorAuthAge', 'aws:MultiFactorAuthPresent',
  'aws:PrincipalAccount', 'aws:PrincipalArn', 'aws:PrincipalIsAWSService', 'aws:PrincipalOrgID',
  'aws:PrincipalOrgPaths', 'aws:PrincipalServiceName', 'aws:PrincipalServiceNamesList', 'aws:PrincipalTag/',
  'aws:PrincipalType', 'aws:Referer', 'aws:RequestedRegion', 'aws:RequestTag/', 'aws:ResourceAccount',
  'aws:ResourceOrgID', 'aws:ResourceOrgPaths', 'aws:ResourceTag/', 'aws:RoleSessionName', 'aws:SecureTransport', 'aws:SourceAccount',
  'aws:SourceArn', 'aws:SourceIdentity', 'aws:SourceIp', 'aws:SourceOrgID', 'aws:SourceOrgPaths', 'aws:SourceVpc',
  'aws:SourceVpcArn', 'aws:SourceVpce', 'aws:TagKeys', 'aws:TokenIssueTime', 'aws:UserAgent', 'aws:userid',
  'aws:username', 'aws:ViaAWSService', 'aws:VpceAccount', 'aws:VpceOrgID', 'aws:VpceOrgPaths', 'aws:VpcSourceIp',
];

const EXACT = new Set(GLOBAL_CONDITION_KEYS.filter((k) => !k.endsWith('/')).map((k) => k.toLowerCase()));
const PREFIXES = GLOBAL_CONDITION_KEYS.filter((k) => k.endsWith('/')).map((k) => k.toLowerCase());

/** Whether an `aws:` key is one AWS documents (names are case-insensitive). */
export function isGlobalConditionKey(key: string): boolean {
  const lower = key.toLowerCase();
  return EXACT.has(lower) || PREFIXES.some((p) => lower.startsWith(p) && lower.length > p.length);
}

/**
 * Global keys AWS documents as multivalued ("Single-valued vs. multivalued context keys"), lower-case:
 * they need a condition set operator, and none can stand in a policy variable.
 */
export const MULTIVALUED_GLOBAL_KEYS: ReadonlySet<string> = new Set(
  [
    'aws:CalledVia', 'aws:PrincipalOrgPaths', 'aws:PrincipalServiceNamesList', 'aws:ResourceOrgPaths',
    'aws:SourceOrgPaths', 'aws:TagKeys', 'aws:VpceOrgPaths',
  ].map((k) => k.toLowerCase()),
);
