// The global condition keys AWS documents (every service's requests may carry them), for the
// validator's check of `aws:` keys: an unknown one is a warning with the nearest known key, as
// IAM Access Analyzer's policy checks do. Keys ending in `/` take a tag key after them.
import type { OperatorFamily } from './conditions/operators.js';

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

/**
 * The operator families that read the values of the global keys AWS documents with a type other
 * than string (IAM User Guide, "AWS global condition context keys", each key's "Data type";
 * lower-case). ARN keys are also strings; `aws:EpochTime` is documented as a date and a number.
 */
const KEY_TYPES: Readonly<Record<string, readonly OperatorFamily[]>> = {
  'aws:currenttime': ['Date'],
  'aws:tokenissuetime': ['Date'],
  'aws:epochtime': ['Date', 'Numeric'],
  'aws:multifactorauthage': ['Numeric'],
  'aws:multifactorauthpresent': ['Bool'],
  'aws:securetransport': ['Bool'],
  'aws:principalisawsservice': ['Bool'],
  'aws:viaawsservice': ['Bool'],
  'aws:sourceip': ['IpAddress'],
  'aws:vpcsourceip': ['IpAddress'],
  'aws:ec2instancesourceprivateipv4': ['IpAddress'],
  'aws:principalarn': ['Arn'],
  'aws:sourcearn': ['Arn'],
  'aws:sourcevpcarn': ['Arn'],
  'aws:chatbotsourcearn': ['Arn'],
};

/**
 * The operator families that read a global key of a documented type other than string, or
 * undefined for any other key (a string, or a service's key whose type iamgate does not know).
 */
export function globalKeyFamilies(key: string): readonly OperatorFamily[] | undefined {
  return KEY_TYPES[key.toLowerCase()];
}
