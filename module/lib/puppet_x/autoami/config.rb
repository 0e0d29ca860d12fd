# frozen_string_literal: true

require 'yaml'
require_relative 'error'

module PuppetX
  module Autoami
    # The sidecar's own autoami.yaml: the Ruby side reads only where the socket and the
    # state directory are, and never judges the rest, which is the sidecar's to refuse.
    module Config
      # The sidecar's defaults for keys autoami.yaml leaves out.
      DEFAULT_SOCKET = '/run/autoami/autoami.sock'
      DEFAULT_STATE_DIR = '/var/lib/autoami'

      # $AUTOAMI_CONFIG first, so a test or a second sidecar needs no Puppet setting.
      def self.path
        ENV['AUTOAMI_CONFIG'] || File.join(Puppet[:confdir], 'autoami.yaml')
      end

      def self.load(path = self.path)
        data = YAML.safe_load(File.read(path))
        raise Error, "AutoAMI config #{path} must hold a mapping" unless data.is_a?(Hash)

        data
      rescue Errno::ENOENT
        raise Error, "no AutoAMI config at #{path}: declare class autoami on this master or set AUTOAMI_CONFIG"
      rescue Errno::EACCES
        raise Error, "cannot read the AutoAMI config #{path}: permission denied (run as root or a member of its group)"
      rescue Psych::Exception => e
        raise Error, "AutoAMI config #{path} is not valid YAML: #{e.message}"
      end

      def self.socket_path(config = load)
        config['socket'] || DEFAULT_SOCKET
      end

      def self.state_dir(config = load)
        config['state_dir'] || DEFAULT_STATE_DIR
      end
    end
  end
end
