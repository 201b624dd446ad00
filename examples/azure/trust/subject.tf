# The sub each phase's identity trusts: the issuer's DynamicCredentialSubjectTemplate, rendered as
# the injector renders it. Give this variable the same template as the issuer (or the signer).
# With the default, plan and apply tokens carry one sub and each phase's identity trusts both:
# the two phases are interchangeable. With {phase} in the template, such as
# organization:{organization}:workspace:{workspace}:run_phase:{phase}, the plan identity trusts
# only plan tokens and the apply identity only apply ones.
variable "subject_template" {
  type        = string
  default     = "organization:{organization}:workspace:{workspace}"
  description = "The issuer's DynamicCredentialSubjectTemplate; this example fills {organization}, {workspace} and {phase}."

  validation {
    condition     = length(regexall("[{}]", replace(replace(replace(var.subject_template, "{organization}", ""), "{workspace}", ""), "{phase}", ""))) == 0
    error_message = "This example fills {organization}, {workspace} and {phase} only."
  }
}

locals {
  subjects = {
    for phase in ["plan", "apply"] :
    phase => replace(replace(replace(var.subject_template, "{organization}", var.organization), "{workspace}", var.workspace), "{phase}", phase)
  }
}
