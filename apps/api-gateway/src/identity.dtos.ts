import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsEmail, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { type ApiKeyCreated, type ApiKeyView, type InvitationCreated, type InvitationView, type MeView, type MemberView, type MembershipView, ROLES, type Role, type UserView } from '@skyweave/contracts';

/** Passwords of local accounts: 12–256 characters (the upper bound keeps scrypt's input bounded). */
export const PASSWORD_LENGTH = { min: 12, max: 256 } as const;

export class LoginDto {
  @ApiProperty({ example: 'ada@example.com' }) @IsEmail() @MaxLength(254) email!: string;
  @ApiProperty({ writeOnly: true, minLength: 1, maxLength: PASSWORD_LENGTH.max }) @IsString() @IsNotEmpty() @MaxLength(PASSWORD_LENGTH.max) password!: string;
}

export class SignupDto {
  @ApiProperty({ example: 'ada@example.com' }) @IsEmail() @MaxLength(254) email!: string;
  @ApiProperty({ writeOnly: true, minLength: PASSWORD_LENGTH.min, maxLength: PASSWORD_LENGTH.max })
  @IsString() @MinLength(PASSWORD_LENGTH.min) @MaxLength(PASSWORD_LENGTH.max) password!: string;
  @ApiPropertyOptional({ description: 'The first user of a fresh installation (no user yet) creates this organisation and owns it' })
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(100) organisationName?: string;
  @ApiPropertyOptional({ writeOnly: true, description: 'An invitation token (from POST /v1/invitations) for this email: the account joins its organisation' })
  @IsOptional() @Matches(/^swi_[A-Za-z0-9_-]{43}$/, { message: 'invitationToken must be an invitation token (swi_…)' }) invitationToken?: string;
}

export class SwitchOrganisationDto {
  @ApiProperty({ description: 'An organisation the signed-in user is a member of; the session acts for it from now on' }) @IsUUID('all') organisationId!: string;
}

export class AddMemberDto {
  @ApiProperty({ description: 'The email of an existing user (others are invited: POST /v1/invitations)' }) @IsEmail() @MaxLength(254) email!: string;
  @ApiProperty({ enum: ROLES }) @IsIn(ROLES) role!: Role;
}

export class UpdateMemberDto {
  @ApiProperty({ enum: ROLES }) @IsIn(ROLES) role!: Role;
}

export class CreateInvitationDto {
  @ApiProperty() @IsEmail() @MaxLength(254) email!: string;
  @ApiProperty({ enum: ROLES }) @IsIn(ROLES) role!: Role;
  @ApiPropertyOptional({ description: 'Hours the invitation can be accepted (1–720; default the installation\'s, 168)', minimum: 1, maximum: 720 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(720) expiresInHours?: number;
}

export class CreateApiKeyDto {
  @ApiProperty({ example: 'ci' }) @IsString() @IsNotEmpty() @MaxLength(100) name!: string;
  @ApiPropertyOptional({ enum: ROLES, default: 'member', description: 'What the key may do, as a member with this role' }) @IsOptional() @IsIn(ROLES) role?: Role;
}

export class StreamQueryDto {
  @ApiPropertyOptional({ description: 'Resume after this event id (as the Last-Event-ID header; the header wins)' })
  @IsOptional() @Matches(/^\d{1,18}$/, { message: 'lastEventId must be an event id' }) lastEventId?: string;
}

// ---- answers (Swagger shapes; the values are built by the controllers) ----

export class UserViewDto implements UserView {
  @ApiProperty() id!: string;
  @ApiProperty() email!: string;
  @ApiProperty({ description: 'Whether the account has a local password' }) hasPassword!: boolean;
  @ApiProperty({ description: 'Whether the account is linked to an OIDC identity' }) hasOidc!: boolean;
  @ApiProperty() createdAt!: Date;
}

export class MembershipViewDto implements MembershipView {
  @ApiProperty() organisationId!: string;
  @ApiProperty() organisationName!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
}

export class MeDto implements MeView {
  @ApiProperty({ enum: ['session', 'api-key'] }) via!: 'session' | 'api-key';
  @ApiPropertyOptional({ type: UserViewDto, description: 'The signed-in user (sessions only)' }) user?: UserViewDto;
  @ApiPropertyOptional({ type: [MembershipViewDto], description: 'Every organisation of the user (sessions only)' }) memberships?: MembershipViewDto[];
  @ApiPropertyOptional({ description: 'The API key (API keys only)' }) apiKeyId?: string;
  @ApiProperty({ nullable: true, type: String, description: 'The organisation this caller acts for' }) organisationId!: string | null;
  @ApiProperty({ nullable: true, enum: ROLES, description: 'The role there' }) role!: Role | null;
}

export class MemberDto implements MemberView {
  @ApiProperty() userId!: string;
  @ApiProperty() email!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
  @ApiProperty() createdAt!: Date;
}

export class InvitationDto implements InvitationView {
  @ApiProperty() id!: string;
  @ApiProperty() email!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
  @ApiProperty() expiresAt!: Date;
  @ApiProperty({ nullable: true, type: Date }) acceptedAt!: Date | null;
  @ApiProperty() createdAt!: Date;
}

export class InvitationCreatedDto extends InvitationDto implements InvitationCreated {
  @ApiProperty({ description: 'The accept token (swi_…), shown once: only its SHA-256 is stored' }) token!: string;
}

export class ApiKeyDto implements ApiKeyView {
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
  @ApiProperty() createdAt!: Date;
}

export class ApiKeyCreatedDto extends ApiKeyDto implements ApiKeyCreated {
  @ApiProperty({ description: 'The key (swk_…), shown once: only its SHA-256 is stored' }) key!: string;
}
