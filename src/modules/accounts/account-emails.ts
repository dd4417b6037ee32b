/**
 * The text of every account email. Plain text: it reads the same in every mail program and screen
 * reader, and links cannot be disguised.
 */

const signature = '\n\nGreenspace – the collaboration workspace for a greener NHS';

export function verifyEmailMessage(name: string, link: string) {
  return {
    subject: 'Confirm your email address for Greenspace',
    text: `Dear ${name},\n\nConfirm your email address to finish creating your Greenspace account:\n\n${link}\n\nThe link works for 24 hours. If you did not create an account, ignore this email.${signature}`,
  };
}

export function accountAlreadyExistsMessage(link: string) {
  return {
    subject: 'Someone tried to create a Greenspace account with your email address',
    text: `Someone tried to create a Greenspace account with this email address, which already has one.\n\nIf it was you, sign in instead. If you have forgotten your password, reset it here:\n\n${link}\n\nIf it was not you, you do not need to do anything.${signature}`,
  };
}

export function passwordResetMessage(name: string, link: string) {
  return {
    subject: 'Reset your Greenspace password',
    text: `Dear ${name},\n\nUse this link to choose a new password:\n\n${link}\n\nThe link works for 1 hour and only once. If you did not ask to reset your password, ignore this email; your password has not changed.${signature}`,
  };
}

export function setPasswordMessage(name: string, link: string) {
  return {
    subject: 'Your Greenspace account',
    text: `Dear ${name},\n\nAn account has been created for you on Greenspace. Choose your password here:\n\n${link}\n\nThe link works for 24 hours and only once.${signature}`,
  };
}

export function passwordChangedMessage(name: string) {
  return {
    subject: 'Your Greenspace password has been changed',
    text: `Dear ${name},\n\nThe password for your Greenspace account was changed, and every other session was signed out.\n\nIf you did not do this, reset your password now and tell your organisation's Greenspace admin.${signature}`,
  };
}

export function confirmNewEmailMessage(name: string, link: string) {
  return {
    subject: 'Confirm your new email address for Greenspace',
    text: `Dear ${name},\n\nConfirm that you want to use this email address for your Greenspace account:\n\n${link}\n\nThe link works for 24 hours. If you did not ask for this, ignore this email.${signature}`,
  };
}

export function emailChangeRequestedMessage(name: string) {
  return {
    subject: 'A change of email address was requested for your Greenspace account',
    text: `Dear ${name},\n\nSomeone signed in to your Greenspace account asked to change its email address. The change only happens if the link sent to the new address is used.\n\nIf this was not you, change your password now: that also cancels the change.${signature}`,
  };
}

export function emailChangedMessage(name: string, newEmail: string) {
  return {
    subject: 'The email address of your Greenspace account has changed',
    text: `Dear ${name},\n\nYour Greenspace account now uses ${newEmail}. This address will no longer receive Greenspace emails.\n\nIf this was not you, contact your organisation's Greenspace admin at once.${signature}`,
  };
}

export function addressAlreadyInUseMessage() {
  return {
    subject: 'This email address already has a Greenspace account',
    text: `Someone asked to move a Greenspace account to this email address, but this address already has its own account, so nothing has changed.\n\nIf this was you, sign in with this address instead.${signature}`,
  };
}

export function singleSignOnChangedMessage(name: string, linked: boolean, account: string) {
  return {
    subject: linked
      ? 'Single sign-on was linked to your Greenspace account'
      : 'Single sign-on was unlinked from your Greenspace account',
    text: `Dear ${name},\n\n${linked ? `Your Greenspace account can now be signed in to with ${account}.` : `Your Greenspace account can no longer be signed in to with ${account}.`}\n\nIf this was not you, change your password now, unlink it from your account page, and tell your organisation's Greenspace admin.${signature}`,
  };
}

export function recoveryCodesRegeneratedMessage(name: string) {
  return {
    subject: 'New recovery codes were made for your Greenspace account',
    text: `Dear ${name},\n\nNew two-factor recovery codes were made for your Greenspace account, and the old ones no longer work.\n\nIf this was not you, change your password now and tell your organisation's Greenspace admin.${signature}`,
  };
}

export function twoFactorChangedMessage(name: string, enabled: boolean) {
  return {
    subject: enabled
      ? 'Two-factor authentication is on'
      : 'Two-factor authentication has been turned off',
    text: `Dear ${name},\n\nTwo-factor authentication has been turned ${enabled ? 'on' : 'off'} for your Greenspace account.\n\nIf this was not you, change your password now and tell your organisation's Greenspace admin.${signature}`,
  };
}
